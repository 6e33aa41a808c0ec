package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

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

// The stored form of a session's Data is an envelope around the codec's
// bytes, so that the session's own limits travel with its values:
//
//	offset  size  field
//	0       1     0x00: marks an envelope (a gob stream never starts with 0)
//	1       1     envelope version (1)
//	2       var   idle timeout asked for, nanoseconds (uvarint; 0 = engine's)
//	.       var   lifetime asked for, nanoseconds (uvarint; 0 = engine's)
//	.       n     the values, as the codec encoded them
//
// Data that does not start with 0x00 was written before envelopes existed:
// it is the values alone, encoded with gob.
const (
	envelopeMark    = 0x00
	envelopeVersion = 1
	envelopeMax     = 2 + 2*binary.MaxVarintLen64 // longest header
)

var errEnvelope = errors.New("engine: malformed session data envelope")

// appendEnvelope appends the envelope header carrying m's limits to buf.
func appendEnvelope(buf []byte, m *sessionMeta) []byte {
	buf = append(buf, envelopeMark, envelopeVersion)
	buf = binary.AppendUvarint(buf, uint64(m.ownIdle))
	return binary.AppendUvarint(buf, uint64(m.ownLifetime))
}

// openEnvelope returns the limits in data's envelope and the codec's bytes
// after it. Data from before envelopes has no limits and is all values.
func openEnvelope(data []byte) (sessionMeta, []byte, error) {
	var m sessionMeta
	if len(data) == 0 || data[0] != envelopeMark {
		return m, data, nil
	}
	if len(data) < 2 || data[1] != envelopeVersion {
		return m, nil, fmt.Errorf("%w: unknown version", errEnvelope)
	}
	rest := data[2:]
	var d [2]time.Duration
	for i := range d {
		v, n := binary.Uvarint(rest)
		if n <= 0 || v > math.MaxInt64 {
			return m, nil, fmt.Errorf("%w: bad limit", errEnvelope)
		}
		d[i] = time.Duration(v)
		rest = rest[n:]
	}
	m.ownIdle, m.ownLifetime = d[0], d[1]
	return m, rest, nil
}
