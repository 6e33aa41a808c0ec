package engine

import (
	"math"
	"time"
)

// The stored expiry of a resident session runs ahead of its deadline (last
// use + its idle timeout) by up to an eighth of its idle timeout, so that
// turns that only read need not write: a turn writes the record again only
// once its deadline has passed the stored expiry, that is when more than
// an eighth of the idle timeout has passed since the stored expiry was
// written. After a crash (kill -9), the record therefore expires no sooner
// than the idle timeout after the session's last use, and at most an
// eighth of it later. Passivation writes the exact deadline when it
// writes. The idle timeout and lifetime are the session's own (see
// Session.SetIdleTimeout), which default to the engine's.

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
