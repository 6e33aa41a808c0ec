package persist_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/lockstep-go/lockstep/persist"
)

func TestCheckTimeAcceptsExactlyWhatRoundTrips(t *testing.T) {
	for _, tt := range []struct {
		name string
		t    time.Time
		ok   bool
	}{
		{"zero", time.Time{}, true},
		{"now", time.Now(), true},
		{"first", time.Unix(0, math.MinInt64), true},
		{"last", time.Unix(0, math.MaxInt64), true},
		{"before 1970", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"one ns after the epoch", time.Unix(0, 1), true},
		{"before the first", time.Unix(0, math.MinInt64).Add(-1), false},
		{"after the last", time.Unix(0, math.MaxInt64).Add(1), false},
		{"year 3000", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), false},
		{"epoch", time.Unix(0, 0), false},
		{"epoch elsewhere", time.Unix(0, 0).In(time.FixedZone("x", 3600)), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := persist.CheckTime(tt.t)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			assert.NoError(t, err)
			got := persist.TimeOfUnixNano(persist.UnixNano(tt.t))
			assert.True(t, got.Equal(tt.t), "round trip: got %v, want %v", got, tt.t)
		})
	}
}

func TestUnixNanoCodesTheZeroTimeAsZero(t *testing.T) {
	assert.Equal(t, int64(0), persist.UnixNano(time.Time{}), "code of the zero time")
	assert.True(t, persist.TimeOfUnixNano(0).IsZero(), "time of 0: got %v, want the zero time", persist.TimeOfUnixNano(0))
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	assert.Equal(t, at.UnixNano(), persist.UnixNano(at), "code of %v", at)
	assert.True(t, persist.TimeOfUnixNano(at.UnixNano()).Equal(at), "time of the code of %v: got %v", at, persist.TimeOfUnixNano(at.UnixNano()))
}
