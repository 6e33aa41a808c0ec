package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

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

// encodeData returns the stored form of st's values and limits: the
// envelope, then the codec's bytes. The default codec writes straight
// after the envelope; another codec's bytes are copied there.
func (e *Engine) encodeData(st *sessionState) ([]byte, error) {
	c := e.cfg.Codec
	if c == nil {
		return encodeValues(appendEnvelope(make([]byte, 0, 64), &st.meta), st.values)
	}
	vals, err := e.encodeCustom(c, st.values)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, envelopeMax+len(vals))
	buf = appendEnvelope(buf, &st.meta)
	return append(buf, vals...), nil
}

// decodeData is the inverse of encodeData with codec c (nil for gob); it
// also reads data from before envelopes (gob alone, whatever the codec).
func decodeData(c Codec, data []byte) (sessionMeta, map[string]any, error) {
	m, rest, err := openEnvelope(data)
	if err != nil {
		return m, nil, err
	}
	var values map[string]any
	switch {
	case c == nil || len(data) > 0 && data[0] != envelopeMark:
		values, err = decodeValues(rest)
	default:
		values, err = c.Decode(rest)
		if err == nil && values == nil {
			values = make(map[string]any)
		}
	}
	return m, values, err
}

// DecodeValues decodes the Data of a stored record (persist.Record.Data)
// into a session's values, as the engine does when it activates a session.
// It is for tools that read stored sessions without their IDs, such as
// cmd/lockstep's show. Values of custom types decode only in a program that
// registered them with gob.Register, as in the program that stored them;
// the common types that the engine registers itself (maps, []any,
// time.Time, ...) are registered by DecodeValues too. Data written with a
// Config.Codec of the application's needs that codec: see DecodeValuesWith.
func DecodeValues(data []byte) (map[string]any, error) {
	return DecodeValuesWith(nil, data)
}

// DecodeValuesWith is DecodeValues for an engine whose Config.Codec is c
// (nil for GobCodec). The session's own limits, stored beside its values,
// are skipped; data written before they were stored decodes too.
func DecodeValuesWith(c Codec, data []byte) (map[string]any, error) {
	registerGobTypes()
	_, values, err := decodeData(c, data)
	return values, err
}
