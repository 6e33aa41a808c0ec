package engine

import "time"

// The stored expiry of a resident session runs ahead of its deadline (last
// use + IdleTimeout) by up to refreshSlack, so that turns that only read
// need not write: a turn writes the record again only once its deadline
// has passed the stored expiry, that is when more than IdleTimeout/8 has
// passed since the stored expiry was written. After a crash (kill -9), the
// record therefore expires no sooner than IdleTimeout after the session's
// last use, and at most IdleTimeout/8 later. Passivation writes the exact
// deadline when it writes.

// refreshSlack returns how far ahead of the deadline a resident session's
// stored expiry is written.
func (cfg *Config) refreshSlack() time.Duration { return cfg.IdleTimeout / 8 }

// storedDeadline returns the expiry to store for a session that stays
// resident: its deadline plus the slack, but never past Lifetime.
func (st *sessionState) storedDeadline(cfg *Config) time.Time {
	d := st.used.Add(cfg.IdleTimeout + cfg.refreshSlack())
	if cfg.Lifetime > 0 {
		d = minTime(d, st.created.Add(cfg.Lifetime))
	}
	return d
}

// setExpires records that the store holds expires as the session's expiry.
func (st *sessionState) setExpires(expires time.Time, cfg *Config) {
	st.expires = expires
	st.refreshBy = expires.Add(-cfg.IdleTimeout)
	if cfg.Lifetime > 0 && !expires.Before(st.created.Add(cfg.Lifetime)) {
		// Lifetime caps the deadline: it never passes the stored expiry.
		st.refreshBy = time.Unix(1<<62, 0)
	}
}
