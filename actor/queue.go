package actor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// actor is the single owner of one key's state while it is in the map.
type actor[K comparable, V any] struct {
	rt       *Runtime[K, V]
	key      K
	turn     atomic.Uint64 // id of the live turn; 0 when none
	lastUsed atomic.Int64  // rt.epoch-relative nanoseconds at activation or the last turn's end

	mu      sync.Mutex // guards the fields below
	busy    bool       // a turn (or the runtime's passivation) owns the actor
	loaded  bool       // value holds activated state
	dead    bool       // removed from the map; look the key up again
	retire  bool       // passivate as soon as the current turn ends
	queued  bool       // in rt.retireQ
	waiters []*ticket  // FIFO of goroutines waiting for the turn

	// Guarded by rt.lruMu.
	prev, next *actor[K, V]
	listed     bool // in rt.lru

	// Owned by whoever holds the turn.
	value    V
	nextTurn uint64
}

// ticket is one goroutine's place in an actor's queue. Tickets are pooled:
// a contended turn then costs no allocation.
type ticket struct {
	ready   chan struct{} // capacity 1, so that granting never blocks
	granted bool          // guarded by the actor's mu
	timer   *time.Timer   // nil until a wait needs a timeout
}

// Acquire returns the turn of key. If ctx carries a live turn of key (ctx
// is, or derives from, the context of a turn that has not ended), Acquire
// returns that turn with nested true at once: the caller already holds it and
// must not release it. Otherwise it waits in line, activates the actor if
// its state is not loaded, and returns a new turn that the caller must
// Release.
func (r *Runtime[K, V]) Acquire(ctx context.Context, key K) (t *Turn[K, V], nested bool, err error) {
	var deadline time.Time
	for {
		if r.closed.Load() {
			return nil, false, ErrClosed
		}
		a := r.actors.load(key)
		if a != nil {
			if t := findTurn(ctx, a); t != nil {
				return t, true, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, false, err // a caller that gave up gets no new turn
		}
		if a == nil {
			var err error
			if a, err = r.create(key); err != nil {
				return nil, false, err
			}
		}
		a.mu.Lock()
		if a.dead {
			a.mu.Unlock()
			continue
		}
		if !a.busy && len(a.waiters) == 0 {
			a.busy = true
			a.mu.Unlock()
			return r.begin(ctx, a, deadline)
		}
		w := r.tickets.Get().(*ticket)
		w.granted = false
		a.waiters = append(a.waiters, w)
		a.mu.Unlock()

		start := time.Now()
		if deadline.IsZero() && r.cfg.Timeout > 0 {
			deadline = start.Add(r.cfg.Timeout)
		}
		err = r.wait(ctx, a, w, deadline)
		r.tickets.Put(w)
		r.waited.Add(1)
		r.waitTime.Add(int64(time.Since(start)))
		if err != nil {
			return nil, false, err
		}
		return r.begin(ctx, a, deadline)
	}
}

// Install makes v the loaded state of key and returns a turn on it, which
// the caller must Release; Activate is not called. It is meant for state
// that moves to a fresh key (a session that gets a new ID): it never waits,
// and fails with ErrExists if key already has an actor, or ErrClosed once
// Shutdown has begun. The turn's context is ctx.
func (r *Runtime[K, V]) Install(ctx context.Context, key K, v V) (*Turn[K, V], error) {
	if err := r.addLive(); err != nil {
		return nil, err
	}
	a := &actor[K, V]{rt: r, key: key, busy: true}
	if _, stored := r.actors.loadOrStore(key, a); !stored {
		r.liveDone()
		return nil, ErrExists
	}
	r.setLoaded(a, v)
	return r.startTurn(ctx, a), nil
}

// create returns a new actor for key, or the one another goroutine
// created first. That one may die before the caller locks it (its first
// turn failed to activate): the caller checks dead and looks again.
func (r *Runtime[K, V]) create(key K) (*actor[K, V], error) {
	if err := r.addLive(); err != nil {
		return nil, err
	}
	if r.hooks.beforeStore != nil {
		r.hooks.beforeStore()
	}
	a, stored := r.actors.loadOrStore(key, &actor[K, V]{rt: r, key: key})
	if !stored {
		r.liveDone()
		if r.hooks.lostStore != nil {
			r.hooks.lostStore()
		}
	}
	return a, nil
}

// addLive counts an actor about to enter the map, unless the runtime is
// closed.
func (r *Runtime[K, V]) addLive() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return ErrClosed
	}
	r.live++
	return nil
}

// wait blocks until w is granted the turn of a, or gives up.
func (r *Runtime[K, V]) wait(ctx context.Context, a *actor[K, V], w *ticket, deadline time.Time) error {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		if w.timer == nil {
			w.timer = time.NewTimer(time.Until(deadline))
		} else {
			w.timer.Reset(time.Until(deadline))
		}
		defer w.timer.Stop()
		timeout = w.timer.C
	}
	var cause error
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		cause = ctx.Err()
	case <-timeout:
		cause = ErrTimeout
	case <-r.stop:
		cause = ErrClosed
	}
	a.mu.Lock()
	if w.granted {
		// The turn arrived as we gave up: pass it on.
		a.mu.Unlock()
		<-w.ready
		r.release(a)
		return cause
	}
	a.waiters = slices.DeleteFunc(a.waiters, func(x *ticket) bool { return x == w })
	a.mu.Unlock()
	return cause
}

// begin starts a turn on a, whose turn the caller owns, activating it if
// needed. On error the turn has been passed on.
func (r *Runtime[K, V]) begin(ctx context.Context, a *actor[K, V], deadline time.Time) (*Turn[K, V], bool, error) {
	if r.closed.Load() {
		r.release(a)
		return nil, false, ErrClosed
	}
	if !a.loaded { // only the turn's owner writes loaded
		if err := r.activate(ctx, a, deadline); err != nil {
			r.release(a)
			return nil, false, err
		}
	}
	return r.startTurn(ctx, a), false, nil
}

// startTurn returns a new turn on a, whose turn the caller owns.
func (r *Runtime[K, V]) startTurn(ctx context.Context, a *actor[K, V]) *Turn[K, V] {
	a.nextTurn++
	t := &Turn[K, V]{Context: ctx, a: a, id: a.nextTurn}
	a.turn.Store(t.id)
	return t
}

func (r *Runtime[K, V]) activate(ctx context.Context, a *actor[K, V], deadline time.Time) error {
	actx := ctx
	if r.cfg.Timeout > 0 {
		if deadline.IsZero() {
			deadline = time.Now().Add(r.cfg.Timeout)
		}
		var cancel context.CancelFunc
		actx, cancel = context.WithDeadlineCause(ctx, deadline, ErrTimeout)
		defer cancel()
	}
	v, err := r.cfg.Activate(actx, a.key)
	if err != nil {
		if ctx.Err() == nil && errors.Is(context.Cause(actx), ErrTimeout) {
			return fmt.Errorf("%w: %w", ErrTimeout, err)
		}
		return err
	}
	r.setLoaded(a, v)
	return nil
}

// release ends the ownership of a by the caller: it passivates a if that was
// asked for, then grants the turn to the next waiter or frees the actor.
func (r *Runtime[K, V]) release(a *actor[K, V]) {
	a.mu.Lock()
	if a.loaded && (a.retire || r.closed.Load()) {
		a.mu.Unlock()
		r.passivate(a)
		a.mu.Lock()
	}
	r.handOff(a)
	a.mu.Unlock()
}

// handOff grants the turn of a to its first waiter, or marks a idle and,
// if its state is not loaded, removes it from the map. a.mu must be held.
func (r *Runtime[K, V]) handOff(a *actor[K, V]) {
	if len(a.waiters) > 0 {
		w := a.waiters[0]
		a.waiters[0] = nil
		a.waiters = a.waiters[1:]
		w.granted = true
		w.ready <- struct{}{}
		return
	}
	a.busy = false
	if !a.loaded {
		a.dead = true
		r.actors.compareAndDelete(a.key, a)
		r.liveDone()
	}
}
