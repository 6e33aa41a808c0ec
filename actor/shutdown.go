package actor

import (
	"context"
	"errors"
)

// Shutdown stops the runtime. From its start, Acquire and Install fail with
// ErrClosed, and every goroutine waiting for a turn gets ErrClosed at once.
// Idle actors are passivated at once; a turn in progress runs on, and its
// actor is passivated when it ends. Shutdown waits for that until ctx ends,
// then returns ctx's error: turns still running are not interrupted, their
// actors are passivated when they end (on their own goroutines, errors going
// to Config.OnError). The runtime's own goroutine stops between two
// passivations; if ctx ends while it passivates one, Shutdown does not wait
// for it: that goroutine finishes that one passivation (errors going to
// Config.OnError) and returns. No other goroutine of the runtime is left.
//
// Shutdown returns the passivation errors it met, joined; the actors
// concerned are dropped. A later call waits in the same way for actors still
// resident and returns nil, or its ctx's error.
func (r *Runtime[K, V]) Shutdown(ctx context.Context) error {
	first := !r.closed.Swap(true)
	if first {
		close(r.stop)
	}
	// The janitor stops between two passivations; one of its own (an
	// fsync'd write) may still be running when ctx ends. Then the actor it
	// works on is left to it, as a running turn's is.
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	if !first {
		return r.waitDead(ctx)
	}
	r.actors.rangeAll(func(a *actor[K, V]) {
		r.tryPassivate(a, func(*actor[K, V]) bool { return true })
	})
	werr := r.waitDead(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drained = true
	return errors.Join(append(r.closeErrs, werr)...)
}

// Close is Shutdown with no deadline: it returns once every actor is
// passivated.
func (r *Runtime[K, V]) Close() error { return r.Shutdown(context.Background()) }

// waitDead waits until no actor is left in the map, or ctx ends.
func (r *Runtime[K, V]) waitDead(ctx context.Context) error {
	r.mu.Lock()
	if r.live == 0 {
		r.mu.Unlock()
		return nil
	}
	if r.liveZero == nil {
		r.liveZero = make(chan struct{})
	}
	ch := r.liveZero
	r.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runtime[K, V]) liveDone() {
	r.mu.Lock()
	r.live--
	if r.live == 0 && r.liveZero != nil {
		close(r.liveZero)
		r.liveZero = nil
	}
	r.mu.Unlock()
}
