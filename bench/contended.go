package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// contendedBase is the system the file and Redis stores are compared with
// in contended-5x30: the same engine without storage.
const contendedBase = "lockstep-memory"

// contendedPaired are the systems whose contended-5x30 rounds alternate
// with rounds of contendedBase, for the targets that compare the two.
var contendedPaired = []string{"lockstep", "lockstep-onpassivate", "lockstep-redis", "lockstep-postgres"}

// runContended is CherryPy's own concurrency test: a first request sets the
// counter to 1, then Clients clients send Requests requests each to one
// session, every request reading the counter, working Work and writing it
// back plus one. With every request serialised the wall time cannot beat
// Clients*Requests*Work (the floor) and the counter ends at
// 1 + Clients*Requests.
//
// One such run varies by hundredths of the floor, and by tenths on a loaded
// machine, so the workload runs ContendedRounds rounds, on a fresh instance
// each, and reports the medians, with the spread (largest less smallest)
// of the floor ratios.
//
// The handlers record when each request's work (the sleep and the wake-up
// after it) began and ended, and overhead is what the serialised requests
// pay between one work and the next: the commit, the end of the turn and
// the hand-off (see overhead). It is left out for a system whose counter
// is wrong, which does not serialise.
//
// The systems in contendedPaired alternate round by round with
// contendedBase (the base first in even rounds, second in odd ones), so
// that load that drifts over seconds falls on both alike, and vs-memory is
// the median of the rounds' differences of overhead, in units of the floor
// ratio (over Work): what the store adds to the memory store's floor ratio,
// without the timer's slack and the preemptions that make the raw floor
// ratios noisy.
func runContended(ctx context.Context, e *env, name string) error {
	paired := slices.Contains(contendedPaired, name)
	var own, base []contendedRound
	for i := range max(e.p.ContendedRounds, 1) {
		order := []string{name}
		switch {
		case paired && i%2 == 0:
			order = []string{contendedBase, name}
		case paired:
			order = []string{name, contendedBase}
		}
		for _, sys := range order {
			r, err := e.contendedOnce(ctx, sys)
			if err != nil {
				return err
			}
			if sys == name {
				own = append(own, r)
			} else {
				base = append(base, r)
			}
		}
	}

	n := e.p.Clients * e.p.Requests
	floor := time.Duration(n) * e.p.Work
	ratio := func(r contendedRound) float64 { return r.wall.Seconds() / floor.Seconds() }
	ratios := mapRounds(own, ratio)
	exact := true
	lowest := own[0].final
	for _, r := range own {
		exact = exact && r.final == 1+n
		lowest = min(lowest, r.final)
	}
	add := func(metric string, v float64, unit string) { e.rs.Add("contended-5x30", name, metric, v, unit) }
	add("wall", median(mapRounds(own, func(r contendedRound) float64 { return r.wall.Seconds() })), "s")
	add("floor-ratio", median(ratios), "x")
	add("spread", slices.Max(ratios)-slices.Min(ratios), "x")
	if exact {
		add("overhead", median(mapRounds(own, func(r contendedRound) float64 { return r.overhead })), "µs/request")
	}
	add("final-counter", float64(lowest), "count")
	add("expected-counter", float64(1+n), "count")
	if !paired {
		return nil
	}
	diffs := make([]float64, len(own))
	for i := range own {
		diffs[i] = (own[i].overhead - base[i].overhead) / float64(e.p.Work.Microseconds())
	}
	add("memory-alongside", median(mapRounds(base, ratio)), "x")
	add("vs-memory", median(diffs), "x")
	add("vs-memory-spread", slices.Max(diffs)-slices.Min(diffs), "x")
	return nil
}

// A contendedRound is one run of the contended test.
type contendedRound struct {
	wall     time.Duration // from the first contended request to the last answer
	overhead float64       // see overhead, in µs
	final    int           // the counter at the end
}

// gapTrim is the fraction of the largest gaps that overhead leaves out. On
// a loaded machine a few of a round's 150 gaps are 10 to 70 ms long (the
// next handler preempted by another process), more than everything a store
// costs in the whole round; the 5% left out hold them.
const gapTrim = 0.05

// overhead returns the mean gap, in µs, between the end of one request's
// work and the start of the next one's (in the order they began), the
// largest gapTrim of the gaps left out: on a serialised session the
// commit, the end of the turn and the hand-off to the next waiter.
func overhead(spans []workSpan) float64 {
	spans = slices.SortedFunc(slices.Values(spans), func(a, b workSpan) int { return a.start.Compare(b.start) })
	var gaps []float64
	for i := 1; i < len(spans); i++ {
		gaps = append(gaps, float64(spans[i].start.Sub(spans[i-1].end))/float64(time.Microsecond))
	}
	if len(gaps) == 0 {
		return 0
	}
	slices.Sort(gaps)
	gaps = gaps[:len(gaps)-int(float64(len(gaps))*gapTrim)]
	sum := 0.0
	for _, g := range gaps {
		sum += g
	}
	return sum / float64(len(gaps))
}

// contendedOnce runs the contended test once on a fresh instance of the
// system called name.
func (e *env) contendedOnce(ctx context.Context, name string) (contendedRound, error) {
	c, err := e.serveSystem(name, e.p.Clients)
	if err != nil {
		return contendedRound{}, err
	}
	defer c.stop()

	cookies, err := c.newSessions(ctx, 1)
	if err != nil {
		return contendedRound{}, err
	}
	start := time.Now()
	errs := make([]error, e.p.Clients)
	var wg sync.WaitGroup
	for i := range e.p.Clients {
		wg.Go(func() {
			for range e.p.Requests {
				if _, _, err := c.get(ctx, "/slow", cookies[0]); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return contendedRound{}, err
	}
	final, err := c.getInt(ctx, "/read", cookies[0])
	if err != nil {
		return contendedRound{}, err
	}
	return contendedRound{wall: wall, overhead: overhead(c.work.all()), final: final}, nil
}

// mapRounds returns f of every round.
func mapRounds(rs []contendedRound, f func(contendedRound) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

// median returns the median of vs (the mean of the middle two for an even
// count), 0 for none; vs is not changed.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if m := len(s) / 2; len(s)%2 == 0 {
		return (s[m-1] + s[m]) / 2
	}
	return s[len(s)/2]
}

// runLostUpdates sends LostN concurrent requests to one session, each
// reading the counter, working Work, writing it back plus one and adding a
// key of its own; it reports how many increments and keys were lost.
func runLostUpdates(ctx context.Context, e *env, name string) error {
	c, err := e.serveSystem(name, e.p.LostN)
	if err != nil {
		return err
	}
	defer c.stop()

	cookies, err := c.newSessions(ctx, 1)
	if err != nil {
		return err
	}
	n := e.p.LostN
	errs := make([]error, n)
	startGate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-startGate
			_, _, errs[i] = c.get(ctx, fmt.Sprintf("/add?k=%d", i), cookies[0])
		})
	}
	close(startGate)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	body, _, err := c.get(ctx, "/stat", cookies[0])
	if err != nil {
		return err
	}
	var final, keys int
	if _, err := fmt.Sscan(body, &final, &keys); err != nil {
		return fmt.Errorf("parse /stat %q: %w", body, err)
	}
	e.rs.Add("lost-updates", name, "requests", float64(n), "count")
	e.rs.Add("lost-updates", name, "lost", float64(1+n-final), "count")
	e.rs.Add("lost-updates", name, "lost-keys", float64(n+1-keys), "count")
	return nil
}
