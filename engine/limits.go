package engine

import "time"

// sessionMeta is what the engine keeps about a session beside its values:
// who it belongs to and the limits it asked for. Changes to it are
// journaled like changes to values, and a changed meta is written when the
// turn commits, whatever the Durability.
type sessionMeta struct {
	owner       string        // stored in persist.Record.Owner
	ownIdle     time.Duration // asked for with SetIdleTimeout; 0 for the engine's
	ownLifetime time.Duration // asked for with SetLifetime; 0 for the engine's
}

// SetIdleTimeout gives the session an idle timeout of its own, in place of
// Config.IdleTimeout: it expires d after its last turn. A "remember me"
// login sets a long one. d is capped at Config.MaxIdleTimeout (which is
// Config.IdleTimeout unless configured, so that by default a session can
// shorten its idle timeout but not lengthen it); d <= 0 gives the session
// the engine's again.
//
// The setting is journaled like a value (a failed turn undoes it), stays
// with the session across passivation, restarts and Regenerate, and is
// written when the turn commits, whatever Config.Durability, so that the
// stored expiry follows it at once. The cap is applied when the setting is
// used, so a lower Config.MaxIdleTimeout in a later run shortens sessions
// that asked for more.
func (s *Session) SetIdleTimeout(d time.Duration) {
	m := s.st.meta
	m.ownIdle = min(max(d, 0), MaxDuration)
	s.setMeta("SetIdleTimeout", m)
}

// IdleTimeout returns how long the session lives after its last turn: its
// own idle timeout (see [Session.SetIdleTimeout]) within
// Config.MaxIdleTimeout, or Config.IdleTimeout. httpadapter gives the
// session cookie this Max-Age.
func (s *Session) IdleTimeout() time.Duration {
	return s.st.meta.idleTimeout(&s.st.e.cfg)
}

// SetLifetime gives the session an absolute lifetime of its own, in place
// of Config.Lifetime: it expires d after it was created, however busy. d
// is capped at Config.MaxLifetime if that is set (by default it is
// Config.Lifetime; when both are zero a session may set any lifetime); d <= 0
// gives the session the engine's again. Like [Session.SetIdleTimeout], it
// is journaled, survives passivation and restarts, and is written when the
// turn commits.
func (s *Session) SetLifetime(d time.Duration) {
	m := s.st.meta
	m.ownLifetime = min(max(d, 0), MaxDuration)
	s.setMeta("SetLifetime", m)
}

// Lifetime returns the session's absolute lifetime from its creation, 0 for
// none: its own (see [Session.SetLifetime]) within Config.MaxLifetime, or
// Config.Lifetime.
func (s *Session) Lifetime() time.Duration {
	return s.st.meta.lifetime(&s.st.e.cfg)
}

// Expires returns when the session expires if it is not used again after
// the current turn: the earlier of its idle timeout from now and its
// lifetime from its creation. Zero in a lazy turn before the session is
// created, and after Destroy.
func (s *Session) Expires() time.Time {
	st := s.st
	if st.id == "" || st.gone {
		return time.Time{}
	}
	return st.deadline(&st.e.cfg)
}
