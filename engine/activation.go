package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// activate loads session id for its actor, taking the store's lock. It is
// the actor runtime's Activate hook; ctx is bounded by LockTimeout.
func (e *Engine) activate(ctx context.Context, id string) (*sessionState, error) {
	lock, err := e.lock(ctx, id, func() { e.rt.Retire(id) })
	if err != nil {
		return nil, err
	}
	rec, err := lock.Load()
	if errors.Is(err, persist.ErrNotFound) {
		// Unknown, or corrupt and moved aside: leave no lock file behind.
		lock.Delete()
		if errors.Is(err, persist.ErrCorrupt) {
			e.logCorrupt(err)
			return nil, fmt.Errorf("%w: %w", notFound(id), err)
		}
		return nil, notFound(id)
	}
	if err != nil {
		lock.Release()
		return nil, opError("activate", id, err)
	}
	now := e.cfg.Now()
	if rec.Expired(now) || e.cfg.Lifetime > 0 && !now.Before(rec.Created.Add(e.cfg.Lifetime)) {
		if err := lock.Delete(); err != nil {
			e.cfg.Logger.Error("engine: delete expired session", "session", redact(id), "err", err)
		}
		return nil, notFound(id)
	}
	values, err := decodeValues(rec.Data)
	if err != nil {
		qerr := lock.Quarantine(err)
		e.logCorrupt(qerr)
		return nil, fmt.Errorf("%w: %w", notFound(id), qerr)
	}
	st := newSessionState(e, id, values)
	st.lock = lock
	st.created = rec.Created
	st.expires = rec.Expires
	st.used = now
	st.stored = true
	return st, nil
}

// logCorrupt logs a record that was moved aside. The error is returned as
// well: callers treat ErrNotFound as "no session" and move on, and a corrupt
// file needs an operator's attention.
func (e *Engine) logCorrupt(err error) {
	e.cfg.Logger.Error("engine: session record quarantined", "err", err)
}

// passivate saves a session's pending changes and releases its lock. It is
// the actor runtime's Passivate hook.
func (e *Engine) passivate(id string, st *sessionState) error {
	if st.gone || st.lock == nil {
		return nil
	}
	now := e.cfg.Now()
	if !now.Before(st.deadline(&e.cfg)) {
		e.expire(st)
		return nil
	}
	var err error
	if !st.lost && (st.dirty || !st.stored || st.deadline(&e.cfg).Sub(st.expires) >= e.touchStep()) {
		err = e.save(st)
		switch {
		case st.lost: // nothing left to keep
			e.cfg.Logger.Error("engine: session dropped: its lock was lost", "err", err)
			err = nil
		case err != nil && !e.closed():
			return err // stay resident; passivation is tried again later
		}
	}
	// When closing, a failed save is reported by Shutdown and the lock is
	// released all the same: a process that stops must not keep it.
	rerr := st.lock.Release()
	st.lock = nil
	if rerr != nil {
		if !e.closed() {
			// The lock is gone either way, so the state must go too: kept
			// resident without a lock, its next turns would commit nothing.
			e.cfg.Logger.Error("engine: session released with an error", "err", opError("release", id, rerr))
			return err
		}
		if err == nil {
			err = opError("release", id, rerr)
		}
	}
	return err
}

// touchStep is how far a session's expiry must move before passivation
// writes it although nothing changed: reads do not cost a write each.
func (e *Engine) touchStep() time.Duration {
	return max(time.Second, e.cfg.IdleTimeout/64)
}
