package dashboard

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/lockstep-go/lockstep/engine"
)

func TestQuantile(t *testing.T) {
	var h [len(waitBounds) + 1]uint32
	assert.Equal(t, 0.0, quantile(&h, 0.5), "empty")
	h[bucket(0)] = 98 // ≤ 1 µs
	h[bucket(3*time.Millisecond)] = 2
	assert.InDelta(t, 0.51e-6, quantile(&h, 0.5), 0.01e-6, "p50 within the first bucket")
	assert.InDelta(t, 2.5e-3+(5e-3-2.5e-3)*0.5, quantile(&h, 0.99), 1e-9, "p99 halfway into the 2.5–5 ms bucket")
	h = [len(waitBounds) + 1]uint32{}
	h[bucket(time.Minute)] = 1
	assert.Equal(t, 10.0, quantile(&h, 0.99), "past the last bound: its lower edge")
}

// The ring keeps one slot per interval; slots older than the window, or
// skipped, read as zero.
func TestRecorderSlots(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	r := NewRecorder()
	r.now = func() time.Time { return now }
	o := r.Observer()
	ctx := context.Background()
	for range 10 {
		o.TurnEnded(ctx, engine.TurnInfo{})
	}
	o.TurnWaited(ctx, engine.Wait{Duration: time.Millisecond, Reason: engine.WaitQueue})
	o.Committed(ctx, engine.Commit{})
	o.LockTimeout(ctx, time.Second)
	now = now.Add(2 * recorderInterval)
	o.TurnEnded(ctx, engine.TurnInfo{})

	s := r.series()
	n := len(s.turns)
	assert.Equal(t, recorderSlots, n)
	per := recorderInterval.Seconds()
	assert.Equal(t, []float64{10 / per, 0, 1 / per}, s.turns[n-3:])
	assert.Equal(t, 1/per, s.waited[n-3])
	assert.Equal(t, 1/per, s.commits[n-3])
	assert.Equal(t, 1/per, s.failures[n-3])
	assert.InDelta(t, 0.75e-3, s.p50[n-3], 1e-9, "the one wait, halfway into the 0.5–1 ms bucket")

	now = now.Add(recorderSlots * recorderInterval) // everything out of the window
	o.TurnEnded(ctx, engine.TurnInfo{})
	s = r.series()
	var total float64
	for _, v := range s.turns {
		total += v
	}
	assert.Equal(t, 1/per, total)
}

func TestClipKeepsUTF8(t *testing.T) {
	s := strings.Repeat("a", 299) + "é" + "tail" // é spans bytes 299 and 300
	got := clip(s, 300)
	assert.True(t, utf8.ValidString(got), "clip(%q, 300) = %q: got invalid UTF-8, want valid", s, got)
	assert.Equal(t, strings.Repeat("a", 299)+"…", got)
	assert.Equal(t, "short", clip("short", 300), "a short string is kept whole")
}
