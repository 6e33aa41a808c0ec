package dashboard

import (
	"context"
	"sync"
	"time"

	"github.com/lockstep-go/lockstep/engine"
)

// Recorder keeps the last minutes of an engine's activity, per interval,
// for the dashboard's charts: it is an engine.Observer (see
// Recorder.Observer) that counts into a ring of time slots, so that it
// needs no goroutine of its own. Combine it with other observers with
// engine.MultiObserver. It is safe for concurrent use; each observed call
// takes a mutex for a few counter updates.
type Recorder struct {
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex // guards ring
	ring [recorderSlots]slot
}

// Recorder's resolution and reach: slots of recorderInterval, ten minutes
// of them.
const (
	recorderInterval = 5 * time.Second
	recorderSlots    = 120
)

// waitBounds are the upper bounds of the wait histogram's buckets; a
// last bucket holds what is longer.
var waitBounds = [...]time.Duration{
	time.Microsecond, 2500 * time.Nanosecond, 5 * time.Microsecond,
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// slot counts what happened during one interval.
type slot struct {
	index     int64 // the interval's number since the Unix epoch; the slot is stale if it is not the one wanted
	turns     uint64
	waited    uint64 // turns that waited (queue, load, hand-over)
	handOvers uint64 // taken and given
	commits   uint64
	failures  uint64 // lock timeouts, deadlocks, failed commits, lost locks
	waits     [len(waitBounds) + 1]uint32
}

// NewRecorder returns a Recorder of the last ten minutes, in slots of
// five seconds.
func NewRecorder() *Recorder {
	return &Recorder{interval: recorderInterval, now: time.Now}
}

// Observer returns the engine.Observer that records into r.
func (r *Recorder) Observer() *engine.Observer {
	return &engine.Observer{
		TurnWaited: func(_ context.Context, w engine.Wait) {
			if w.Err != nil {
				return // counted by LockTimeout and Deadlock
			}
			b := bucket(w.Duration)
			r.add(func(s *slot) {
				s.waits[b]++
				if w.Reason != engine.WaitNone {
					s.waited++
				}
			})
		},
		TurnEnded:     func(context.Context, engine.TurnInfo) { r.add(func(s *slot) { s.turns++ }) },
		HandOverTaken: func(context.Context, time.Duration) { r.add(func(s *slot) { s.handOvers++ }) },
		HandOverGiven: func() { r.add(func(s *slot) { s.handOvers++ }) },
		Committed: func(_ context.Context, c engine.Commit) {
			r.add(func(s *slot) {
				if c.Err != nil {
					s.failures++
				} else {
					s.commits++
				}
			})
		},
		LockTimeout: func(context.Context, time.Duration) { r.add(func(s *slot) { s.failures++ }) },
		Deadlock:    func(context.Context) { r.add(func(s *slot) { s.failures++ }) },
		LockLost:    func() { r.add(func(s *slot) { s.failures++ }) },
	}
}

func bucket(d time.Duration) int {
	for i, b := range waitBounds {
		if d <= b {
			return i
		}
	}
	return len(waitBounds)
}

// add applies f to the slot of now.
func (r *Recorder) add(f func(*slot)) {
	i := r.now().UnixNano() / int64(r.interval)
	r.mu.Lock()
	s := &r.ring[i%recorderSlots]
	if s.index != i {
		*s = slot{index: i}
	}
	f(s)
	r.mu.Unlock()
}

// series is the recorded history, oldest first: one value per slot of the
// window, ending with the slot in progress.
type series struct {
	interval  time.Duration
	turns     []float64 // per second
	waited    []float64
	handOvers []float64
	commits   []float64
	failures  []float64
	p50, p99  []float64 // seconds; 0 where no turn waited
}

func (r *Recorder) series() series {
	last := r.now().UnixNano() / int64(r.interval)
	per := r.interval.Seconds()
	out := series{interval: r.interval}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := last - recorderSlots + 1; i <= last; i++ {
		s := r.ring[((i%recorderSlots)+recorderSlots)%recorderSlots]
		if s.index != i {
			s = slot{}
		}
		out.turns = append(out.turns, float64(s.turns)/per)
		out.waited = append(out.waited, float64(s.waited)/per)
		out.handOvers = append(out.handOvers, float64(s.handOvers)/per)
		out.commits = append(out.commits, float64(s.commits)/per)
		out.failures = append(out.failures, float64(s.failures)/per)
		out.p50 = append(out.p50, quantile(&s.waits, 0.50))
		out.p99 = append(out.p99, quantile(&s.waits, 0.99))
	}
	return out
}

// quantile estimates the q-quantile of the waits counted in h, in
// seconds, interpolating within its bucket.
func quantile(h *[len(waitBounds) + 1]uint32, q float64) float64 {
	var total uint64
	for _, n := range h {
		total += uint64(n)
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, n := range h {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			lo := 0.0
			if i > 0 {
				lo = waitBounds[i-1].Seconds()
			}
			if i == len(waitBounds) {
				return lo // past the last bound: its lower edge
			}
			hi := waitBounds[i].Seconds()
			return lo + (hi-lo)*(rank-seen)/float64(n)
		}
		seen += float64(n)
	}
	return waitBounds[len(waitBounds)-1].Seconds()
}
