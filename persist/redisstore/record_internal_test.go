package redisstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordRoundTrip(t *testing.T) {
	for name, rec := range map[string]persist.Record{
		"empty":    {},
		"full":     {Created: time.Unix(1700000000, 123456789), Expires: time.Unix(1800000000, 1), Owner: "alice", Data: []byte("values\x00\xff")},
		"no owner": {Created: time.Unix(1, 0), Data: []byte("x")},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := encodeRecord(nil, rec, 42)
			require.NoError(t, err)
			assert.Equal(t, fence(42), b[:fenceLen])
			got, v, err := parseRecord(b)
			require.NoError(t, err)
			assert.Equal(t, uint64(42), v)
			assert.True(t, got.Created.Equal(rec.Created), "created: got %v, want %v", got.Created, rec.Created)
			assert.True(t, got.Expires.Equal(rec.Expires), "expires: got %v, want %v", got.Expires, rec.Expires)
			assert.Equal(t, rec.Owner, got.Owner)
			assert.Equal(t, string(rec.Data), string(got.Data))
			h, ok, err := parseHeader(b[:headerLen+len(rec.Owner)])
			require.NoError(t, err)
			assert.True(t, ok, "the owner fits")
			assert.Equal(t, rec.Owner, h.owner)
		})
	}
}

func TestExpireAtRoundsUp(t *testing.T) {
	assert.Equal(t, int64(0), expireAt(time.Time{}))
	assert.Equal(t, int64(1700000000001), expireAt(time.Unix(1700000000, 1)))
	assert.Equal(t, int64(1700000000000), expireAt(time.Unix(1700000000, 0)))
	assert.Equal(t, int64(1), expireAt(time.Unix(-5, 0)), "a time before 1970 expires at once")
}

// FuzzParseRecord feeds the record parser what Redis may hold under a
// record key: it never panics, and what it accepts encodes back to the
// same bytes.
func FuzzParseRecord(f *testing.F) {
	for _, rec := range []persist.Record{{}, {Created: time.Unix(1700000000, 5), Expires: time.Unix(1800000000, 0), Owner: "alice", Data: []byte("data")}} {
		b, err := encodeRecord(nil, rec, 3)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, v, err := parseRecord(b)
		if err != nil {
			return
		}
		again, err := encodeRecord(nil, rec, v)
		require.NoError(t, err)
		// Bytes 9-16 (expire-at) are derived from expires on encoding.
		if !bytes.Equal(again[:9], b[:9]) || !bytes.Equal(again[17:], b[17:]) {
			t.Fatalf("round trip: got %x, want %x", again, b)
		}
	})
}
