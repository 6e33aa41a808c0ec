package persist

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestRecordRoundtrip(t *testing.T) {
	tests := []Record{
		{},
		{Created: time.Unix(0, 1), Expires: time.Unix(1<<33, 999999999), Data: []byte{0}},
		{Created: time.Now(), Expires: time.Now().Add(time.Hour), Data: bytes.Repeat([]byte("ab"), 5000)},
		{Created: time.Unix(-1e9, 0), Data: []byte("before 1970")},
	}
	for _, rec := range tests {
		b, err := encodeRecord(nil, rec)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(b), headerLen+len(rec.Data); got != want {
			t.Errorf("encoded length = %d, want %d", got, want)
		}
		got, err := decodeRecord(b)
		if err != nil {
			t.Fatalf("decodeRecord(encodeRecord(%v)): %v", rec, err)
		}
		if !got.Created.Equal(rec.Created) || !got.Expires.Equal(rec.Expires) || !bytes.Equal(got.Data, rec.Data) {
			t.Errorf("roundtrip = %+v, want %+v", got, rec)
		}
		if got.Created.IsZero() != rec.Created.IsZero() || got.Expires.IsZero() != rec.Expires.IsZero() {
			t.Errorf("zero times not kept: got %+v, want %+v", got, rec)
		}
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	valid, _ := encodeRecord(nil, Record{Created: time.Unix(1, 0), Data: []byte("data")})
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"nil", nil, errShort},
		{"magic only", valid[:8], errShort},
		{"header only", valid[:headerLen], errShort},
		{"truncated", valid[:len(valid)-1], errShort},
		{"trailing", append(bytes.Clone(valid), 'x'), errLength},
		{"bad magic", mut(func(b []byte) []byte { b[0] = 'l'; return b }), errMagic},
		{"short bad magic", []byte("(dp0\nS'x'"), errMagic},
		{"version 2", mut(func(b []byte) []byte { b[9] = 2; return b }), errVersion},
		{"version 0", mut(func(b []byte) []byte { b[9] = 0; return b }), errVersion},
		{"flags", mut(func(b []byte) []byte { b[11] = 1; return b }), errFlags},
		{"flipped created", mut(func(b []byte) []byte { b[19] ^= 1; return b }), errChecksum},
		{"flipped crc", mut(func(b []byte) []byte { b[33] ^= 0x80; return b }), errChecksum},
		{"flipped data", mut(func(b []byte) []byte { b[headerLen] ^= 2; return b }), errChecksum},
		{"huge length", mut(func(b []byte) []byte { b[28] = 0xff; return b }), errShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeRecord(tt.b); !errors.Is(err, tt.want) {
				t.Errorf("decodeRecord: got %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzDecodeRecord checks that the decoder never panics and that whatever
// it accepts encodes back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	valid, _ := encodeRecord(nil, Record{Created: time.Unix(1700000000, 5), Expires: time.Unix(1700003600, 0), Data: []byte("\x0f\xff\x81\x04\x01\x02\xff\x82")})
	f.Add(valid)
	f.Add(valid[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := encodeRecord(nil, rec)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Errorf("re-encoded record differs:\n got %x\nwant %x", again, b)
		}
	})
}
