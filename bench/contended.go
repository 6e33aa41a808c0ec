package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// runContended is CherryPy's own concurrency test: a first request sets the
// counter to 1, then Clients clients send Requests requests each to one
// session, every request reading the counter, working Work and writing it
// back plus one. With every request serialised the wall time cannot beat
// Clients*Requests*Work (the floor) and the counter ends at
// 1 + Clients*Requests.
func runContended(ctx context.Context, e *env, name string) error {
	c, done, err := e.serveSystem(name, e.p.Clients)
	if err != nil {
		return err
	}
	defer done()

	cookies, err := c.newSessions(ctx, 1)
	if err != nil {
		return err
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
		return err
	}
	final, err := c.getInt(ctx, "/read", cookies[0])
	if err != nil {
		return err
	}
	n := e.p.Clients * e.p.Requests
	floor := time.Duration(n) * e.p.Work
	e.rs.Add("contended-5x30", name, "wall", wall.Seconds(), "s")
	e.rs.Add("contended-5x30", name, "floor-ratio", wall.Seconds()/floor.Seconds(), "x")
	e.rs.Add("contended-5x30", name, "final-counter", float64(final), "count")
	e.rs.Add("contended-5x30", name, "expected-counter", float64(1+n), "count")
	return nil
}

// runLostUpdates sends LostN concurrent requests to one session, each
// reading the counter, working Work, writing it back plus one and adding a
// key of its own; it reports how many increments and keys were lost.
func runLostUpdates(ctx context.Context, e *env, name string) error {
	c, done, err := e.serveSystem(name, e.p.LostN)
	if err != nil {
		return err
	}
	defer done()

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
