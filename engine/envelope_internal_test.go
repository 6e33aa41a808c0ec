package engine

import (
	"bytes"
	"testing"
	"time"
)

// FuzzEnvelope feeds stored session data to openEnvelope: it never panics,
// and what it accepts as an envelope is written back the same way.
func FuzzEnvelope(f *testing.F) {
	f.Add(appendEnvelope(nil, &sessionMeta{ownIdle: time.Hour, ownLifetime: 30 * 24 * time.Hour}))
	f.Add(appendEnvelope([]byte(nil), &sessionMeta{}))
	f.Add([]byte{0x0e, 0xff, 0x81, 0x04}) // the start of a bare gob stream
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, rest, err := openEnvelope(data)
		if err != nil {
			return
		}
		if m.ownIdle < 0 || m.ownLifetime < 0 {
			t.Fatalf("negative limits %v, %v", m.ownIdle, m.ownLifetime)
		}
		if len(data) == 0 || data[0] != envelopeMark {
			if !bytes.Equal(rest, data) || m != (sessionMeta{}) {
				t.Fatalf("data without an envelope changed: %x -> %x, %+v", data, rest, m)
			}
			return
		}
		again := append(appendEnvelope(nil, &m), rest...)
		m2, rest2, err := openEnvelope(again)
		if err != nil || m2 != m || !bytes.Equal(rest2, rest) {
			t.Fatalf("round trip: %+v %x -> %+v %x (%v)", m, rest, m2, rest2, err)
		}
	})
}
