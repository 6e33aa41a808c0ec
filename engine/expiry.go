package engine

import (
	"errors"
	"math"
	"time"

	"github.com/lockstep-go/lockstep/actor"
	"github.com/lockstep-go/lockstep/persist"
)

// How sessions expire. A session expires at its deadline: its idle
// timeout after its last use (the start of its last turn, shared turns
// included), or its lifetime after its creation, whichever comes first.
// The idle timeout and lifetime are the session's own (see
// Session.SetIdleTimeout and Session.SetLifetime) within the engine's
// caps, or the engine's.
//
// The deadline is checked when a turn starts (a shared turn, which cannot
// delete, leaves an expired session to an exclusive turn), when a session
// is activated (its stored expiry, then its lifetime under today's
// limits) and when it is passivated. An expired session's record is
// deleted under its lock (expire, deleteExpired); the sweeper deletes the
// records of sessions that no one holds, by their stored expiry.
//
// The stored expiry (persist.Record.Expires) is what the sweeper, other
// processes and a restart after a crash go by, so it must never fall
// behind the deadline; writing it at every turn would make every read a
// write. So the record of a session that stays resident stores its
// deadline plus an eighth of its idle timeout (storedDeadline), never past
// its lifetime (once there, it needs no refresh), and a turn writes the
// record again only once the session's deadline has passed the stored
// expiry (refreshBy), that is when more than an eighth of the idle timeout
// has passed since the stored expiry was written: turns that only read
// write at most once per IdleTimeout/8 of use. The stored expiry thus runs
// ahead of the deadline by up to an eighth of the idle timeout: after a
// crash (kill -9), the record expires no sooner than the idle timeout
// after the session's last use, and at most an eighth of it later. A write
// as the session leaves memory (passivation, a hand-over) stores the exact
// deadline.

// idleTimeout returns the session's idle timeout under cfg: the one it
// asked for, at most cfg.MaxIdleTimeout, or cfg.IdleTimeout.
func (m *sessionMeta) idleTimeout(cfg *Config) time.Duration {
	if m.ownIdle > 0 {
		return min(m.ownIdle, cfg.MaxIdleTimeout)
	}
	return cfg.IdleTimeout
}

// lifetime returns the session's lifetime under cfg (0 for none): the one
// it asked for, at most cfg.MaxLifetime if that is set, or cfg.Lifetime.
func (m *sessionMeta) lifetime(cfg *Config) time.Duration {
	switch {
	case m.ownLifetime <= 0:
		return cfg.Lifetime
	case cfg.MaxLifetime > 0:
		return min(m.ownLifetime, cfg.MaxLifetime)
	}
	return m.ownLifetime
}

// deadline returns when the session expires if it is not used again.
func (st *sessionState) deadline(cfg *Config) time.Time {
	d := st.lastUse().Add(st.meta.idleTimeout(cfg))
	if l := st.meta.lifetime(cfg); l > 0 {
		d = minTime(d, st.created.Add(l))
	}
	return d
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// storedDeadline returns the expiry to store for a session that stays
// resident: its deadline plus the slack, but never past its lifetime.
func (st *sessionState) storedDeadline(cfg *Config) time.Time {
	idle := st.meta.idleTimeout(cfg)
	d := st.lastUse().Add(idle + idle/8)
	if l := st.meta.lifetime(cfg); l > 0 {
		d = minTime(d, st.created.Add(l))
	}
	return d
}

// setExpires records that the store holds expires as the session's expiry.
func (st *sessionState) setExpires(expires time.Time, cfg *Config) {
	st.expires = expires
	st.setRefreshBy(expires.Add(-st.meta.idleTimeout(cfg)))
	if l := st.meta.lifetime(cfg); l > 0 && !expires.Before(st.created.Add(l)) {
		// Lifetime caps the deadline: it never passes the stored expiry.
		st.setRefreshBy(time.Unix(1<<62, 0))
	}
}

// setRefreshBy sets refreshBy, and its copy that shared turns read without
// a lock.
func (st *sessionState) setRefreshBy(t time.Time) {
	st.refreshBy = t
	n := int64(math.MaxInt64)
	if t.Before(time.Unix(0, math.MaxInt64)) {
		n = t.UnixNano()
	}
	st.refreshByNs.Store(n)
}

// touchStep is how far a session's stored expiry must be from its deadline
// (behind it after reads, or ahead of it by the slack of a resident
// session's writes) before passivation writes it although nothing changed.
func (e *Engine) touchStep() time.Duration {
	return max(time.Second, e.cfg.IdleTimeout/64)
}

// refresh writes the record of a session that a turn read without
// changing it, because its stored expiry fell behind: so that a crash
// cannot expire a session used within IdleTimeout. A lost lock fails the
// turn (what it read may be stale); another failure (a full disk) is
// logged, and tried again no sooner than touchStep later.
func (e *Engine) refresh(st *sessionState, t *actor.Turn[string, *sessionState]) error {
	err := e.save(st, leaving(t), true)
	switch {
	case err == nil:
		e.count.refreshes.Add(1)
		return nil
	case st.lost:
		return err
	}
	e.cfg.Logger.Warn("engine: refresh of a session's expiry", "session", redact(st.id), "err", err)
	st.setRefreshBy(st.lastUse().Add(e.touchStep()))
	return nil
}

// expire deletes st's record because it expired, and reports whether it
// did: false if the lock turned out lost (the record, which another
// process may have used since, is left alone and st is dropped).
func (e *Engine) expire(st *sessionState) bool {
	err := st.lock.Delete()
	st.lock = nil
	if errors.Is(err, persist.ErrLockLost) {
		e.lost(st)
		return false
	}
	if err != nil {
		e.cfg.Logger.Error("engine: delete expired session", "session", redact(st.id), "err", err)
	} else if st.stored {
		e.emitID(SessionExpired, st.id, st.meta.owner)
	}
	st.gone = true
	e.count.expired.Add(1)
	return true
}

// deleteExpired deletes the expired session id of owner, whose lock is
// held, reports it and returns ErrNotFound naming it.
func (e *Engine) deleteExpired(lock persist.Lock, id, owner string) error {
	if err := lock.Delete(); err != nil {
		e.cfg.Logger.Error("engine: delete expired session", "session", redact(id), "err", err)
	} else {
		e.emitID(SessionExpired, id, owner)
	}
	e.count.expired.Add(1)
	return notFound(id)
}
