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

// The state word of an actor: who holds its turn, and whether the lock-free
// paths may be used. Readers count in the bits above stateSlow.
const (
	stateExclusive int64 = 1 // an exclusive turn (or the runtime) holds the actor
	stateSlow      int64 = 2 // waiters, retire, not loaded, dead or closing: use a.mu
	stateReader    int64 = 4 // one shared turn
	stateHolders         = ^stateSlow
)

// actor is the single owner of one key's state while it is in the map.
type actor[K comparable, V any] struct {
	rt  *Runtime[K, V]
	key K
	// state holds stateExclusive, or the count of shared turns, plus
	// stateSlow. A turn is taken and let go with one compare-and-swap while
	// stateSlow is clear; stateSlow changes only under mu, so that every
	// path that must see the queue, Retire or Shutdown takes mu.
	state    atomic.Int64
	lastUsed atomic.Int64 // rt.epoch-relative nanoseconds at activation or the last turn's end

	mu      sync.Mutex // guards the fields below
	loaded  bool       // value holds activated state
	dead    bool       // removed from the map; look the key up again
	retire  bool       // passivate as soon as the current turns end
	queued  bool       // in rt.retireQ
	waiters []*ticket  // FIFO of goroutines waiting for the turn
	waits   []waitEdge // waits of goroutines that hold a turn of this actor (see deadlock.go)

	// Guarded by rt.lruMu.
	prev, next *actor[K, V]
	listed     bool // in rt.lru

	// Owned by whoever holds the turn; shared turns only read it.
	value V
}

// ticket is one goroutine's place in an actor's queue. Tickets are pooled:
// a contended turn then costs no allocation.
type ticket struct {
	ready   chan struct{} // capacity 1, so that granting never blocks
	shared  bool          // a shared turn was asked for
	granted atomic.Bool   // set under the actor's mu; read lock-free by the wait-for graph
	hold    int64         // what was granted: stateExclusive or stateReader
	timer   *time.Timer   // nil until a wait needs a timeout
}

// newActor returns an actor for key whose state word is state: stateSlow
// at least, for its state is not loaded.
func newActor[K comparable, V any](r *Runtime[K, V], key K, state int64) *actor[K, V] {
	a := &actor[K, V]{rt: r, key: key}
	a.state.Store(state)
	return a
}

// fixSlow sets stateSlow exactly when the lock-free paths must not be
// used. a.mu must be held.
func (a *actor[K, V]) fixSlow() {
	if len(a.waiters) > 0 || a.retire || !a.loaded || a.dead || a.rt.closed.Load() {
		a.state.Or(stateSlow)
	} else {
		a.state.And(^stateSlow)
	}
}

// tryFast takes a turn without a.mu, if stateSlow is clear and the turn
// is free (exclusive), or held only by shared turns (shared).
func (a *actor[K, V]) tryFast(shared bool) bool {
	if !shared {
		return a.state.CompareAndSwap(0, stateExclusive)
	}
	for {
		s := a.state.Load()
		if s&(stateSlow|stateExclusive) != 0 {
			return false
		}
		if a.state.CompareAndSwap(s, s+stateReader) {
			return true
		}
	}
}

// grantable takes the turn of a for the caller if no turn stands in its
// way, and returns the hold it got (0 for none). An actor nobody holds or
// waits for is taken at once, exclusively if its state is not loaded (the
// taker activates it); a shared turn joins other shared turns unless
// someone waits, or a hand-over was asked for. a.mu must be held.
func (a *actor[K, V]) grantable(shared bool) int64 {
	if len(a.waiters) > 0 {
		return 0
	}
	for {
		// stateSlow may be clear: a lock-free turn can come and go
		// meanwhile, so the word is changed only by compare-and-swap.
		s := a.state.Load()
		var hold int64
		switch {
		case s&stateHolders == 0 && (!shared || !a.loaded):
			hold = stateExclusive
		case s&stateHolders == 0, shared && s&stateExclusive == 0 && !a.retire:
			hold = stateReader
		default:
			return 0
		}
		if a.state.CompareAndSwap(s, s+hold) {
			return hold
		}
	}
}

// Acquire returns the exclusive turn of key. If ctx carries a live turn of
// key (ctx is, or derives from, the context of a turn that has not ended),
// Acquire returns that turn with nested true at once, whether it is shared
// or exclusive: the caller already holds it and must not release it.
// Otherwise it waits in line, activates the actor if its state is not
// loaded, and returns a new turn that the caller must Release.
//
// A wait that would close a cycle of turns held through contexts (see
// ErrDeadlock) fails at once.
func (r *Runtime[K, V]) Acquire(ctx context.Context, key K) (t *Turn[K, V], nested bool, err error) {
	return r.acquire(ctx, key, false)
}

// AcquireShared is Acquire for a shared turn: shared turns of one key run
// together, and an exclusive turn excludes them all. Once an exclusive turn
// waits, or Retire asked for the actor, new shared turns queue behind it,
// so that a stream of shared turns cannot starve it. A shared turn may only
// read the state.
func (r *Runtime[K, V]) AcquireShared(ctx context.Context, key K) (t *Turn[K, V], nested bool, err error) {
	return r.acquire(ctx, key, true)
}

func (r *Runtime[K, V]) acquire(ctx context.Context, key K, shared bool) (t *Turn[K, V], nested bool, err error) {
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
		} else if a.tryFast(shared) {
			return r.begin(ctx, a, deadline, shared, false)
		}
		a.mu.Lock()
		if a.dead {
			a.mu.Unlock()
			continue
		}
		// From here on a lock-free release fails and takes a.mu, so that
		// it sees this waiter: no release slips between the look at the
		// state and the queueing.
		a.state.Or(stateSlow)
		if hold := a.grantable(shared); hold != 0 {
			a.fixSlow()
			a.mu.Unlock()
			return r.begin(ctx, a, deadline, shared, shared && hold == stateExclusive)
		}
		w := r.tickets.Get().(*ticket)
		w.granted.Store(false)
		w.shared, w.hold = shared, 0
		a.waiters = append(a.waiters, w)
		a.mu.Unlock()

		start := time.Now()
		if deadline.IsZero() && r.cfg.Timeout > 0 {
			deadline = start.Add(r.cfg.Timeout)
		}
		hold, err := r.wait(ctx, a, w, deadline)
		r.tickets.Put(w)
		r.waited.Add(1)
		r.waitTime.Add(int64(time.Since(start)))
		if err != nil {
			return nil, false, err
		}
		return r.begin(ctx, a, deadline, shared, shared && hold == stateExclusive)
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
	a := newActor(r, key, stateExclusive|stateSlow)
	if _, stored := r.actors.loadOrStore(key, a); !stored {
		r.liveDone()
		return nil, ErrExists
	}
	r.setLoaded(a, v)
	return r.startTurn(ctx, a, false), nil
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
	a, stored := r.actors.loadOrStore(key, newActor(r, key, stateSlow))
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

// wait blocks until w is granted the turn of a, or gives up, and returns
// the hold it was granted. A waiter whose ctx holds turns publishes its
// wait first, and gives up at once with ErrDeadlock if the wait closes a
// cycle (see deadlock.go).
func (r *Runtime[K, V]) wait(ctx context.Context, a *actor[K, V], w *ticket, deadline time.Time) (int64, error) {
	if held := heldBy(ctx); len(held) > 0 {
		publishWait(held, a, w)
		defer unpublishWait(held, w)
		if closesCycle(a, held) {
			r.deadlocks.Add(1)
			return 0, r.giveUp(a, w, ErrDeadlock)
		}
	}
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
		if r.hooks.granted != nil {
			r.hooks.granted(w)
		}
		return w.hold, nil
	case <-ctx.Done():
		cause = ctx.Err()
	case <-timeout:
		cause = ErrTimeout
	case <-r.stop:
		cause = ErrClosed
	}
	return 0, r.giveUp(a, w, cause)
}

// giveUp takes w out of a's queue, or passes on the turn it was granted
// meanwhile, and returns cause.
func (r *Runtime[K, V]) giveUp(a *actor[K, V], w *ticket, cause error) error {
	a.mu.Lock()
	if w.granted.Load() {
		// The turn arrived as we gave up: pass it on.
		a.mu.Unlock()
		<-w.ready
		r.releaseHold(a, w.hold)
		return cause
	}
	a.waiters = slices.DeleteFunc(a.waiters, func(x *ticket) bool { return x == w })
	a.fixSlow()
	a.mu.Unlock()
	return cause
}

// begin starts a turn on a, which the caller holds (shared, or exclusive
// if excl or not shared), activating it if needed: a shared turn that was
// granted exclusively to activate the actor then lets the shared turns
// queued behind it in. On error the hold has been passed on.
func (r *Runtime[K, V]) begin(ctx context.Context, a *actor[K, V], deadline time.Time, shared, excl bool) (*Turn[K, V], bool, error) {
	hold := stateExclusive
	if shared && !excl {
		hold = stateReader
	}
	if r.closed.Load() {
		r.releaseHold(a, hold)
		return nil, false, ErrClosed
	}
	if hold == stateExclusive && !a.loaded { // only the exclusive holder writes loaded
		if err := r.activate(ctx, a, deadline); err != nil {
			r.releaseHold(a, hold)
			return nil, false, err
		}
	}
	if excl {
		a.mu.Lock()
		a.state.Add(stateReader - stateExclusive)
		r.admitShared(a)
		a.fixSlow()
		a.mu.Unlock()
	}
	return r.startTurn(ctx, a, shared), false, nil
}

// startTurn returns a new turn on a, which the caller holds.
func (r *Runtime[K, V]) startTurn(ctx context.Context, a *actor[K, V], shared bool) *Turn[K, V] {
	return &Turn[K, V]{Context: ctx, a: a, shared: shared}
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

// releaseHold lets go of hold (stateExclusive or stateReader) on a. The
// last holder out owns the actor: it passivates a if that was asked for,
// then grants the turn to the next waiters or frees the actor.
func (r *Runtime[K, V]) releaseHold(a *actor[K, V], hold int64) {
	if hold == stateExclusive {
		if a.state.CompareAndSwap(stateExclusive, 0) {
			return
		}
	} else {
		for {
			s := a.state.Load()
			if s&stateSlow != 0 {
				break
			}
			if a.state.CompareAndSwap(s, s-stateReader) {
				return
			}
		}
	}
	if hold == stateReader && r.hooks.sharedSlow != nil {
		r.hooks.sharedSlow()
	}
	a.mu.Lock()
	if hold == stateReader && !r.lastReaderOut(a) {
		a.mu.Unlock()
		return
	}
	if hold == stateReader && r.hooks.sharedOwner != nil {
		r.hooks.sharedOwner()
	}
	r.releaseLocked(a)
	a.mu.Unlock()
}

// lastReaderOut lets go of one shared turn on a and reports whether it
// was the last: its hold then became the exclusive one, in the same
// compare-and-swap, so that the caller owns a. stateSlow, seen set before
// a.mu was locked, may have been cleared since (the waiter that set it gave
// up): lock-free turns may come and go meanwhile, and a free word would let
// one in beside the owner. a.mu must be held.
func (r *Runtime[K, V]) lastReaderOut(a *actor[K, V]) bool {
	for {
		s := a.state.Load()
		next, last := s-stateReader, s&stateHolders == stateReader
		if last {
			next += stateExclusive
		}
		if a.state.CompareAndSwap(s, next) {
			return last
		}
	}
}

// releaseLocked is release for a caller that holds a.mu and owns a
// exclusively.
func (r *Runtime[K, V]) releaseLocked(a *actor[K, V]) {
	if a.loaded && (a.retire || r.closed.Load()) {
		a.mu.Unlock()
		r.passivate(a)
		a.mu.Lock()
	}
	r.handOff(a)
}

// handOff grants the turn of a, which the caller owns exclusively, to its
// first waiter (and, if that one asked for a shared turn, to the shared
// waiters right behind it), or frees a and, if its state is not loaded,
// removes it from the map. a.mu must be held.
func (r *Runtime[K, V]) handOff(a *actor[K, V]) {
	defer a.fixSlow()
	if len(a.waiters) > 0 && (!a.waiters[0].shared || !a.loaded) {
		w := a.popWaiter()
		w.hold = stateExclusive
		w.granted.Store(true)
		w.ready <- struct{}{}
		return
	}
	a.state.Add(-stateExclusive)
	if len(a.waiters) > 0 {
		r.admitShared(a)
		return
	}
	if !a.loaded {
		a.dead = true
		r.actors.compareAndDelete(a.key, a)
		r.liveDone()
	}
}

// admitShared grants shared turns to the shared waiters at the front of
// a's queue, which must be loaded and held by no exclusive turn. a.mu must
// be held.
func (r *Runtime[K, V]) admitShared(a *actor[K, V]) {
	for len(a.waiters) > 0 && a.waiters[0].shared {
		w := a.popWaiter()
		a.state.Add(stateReader)
		w.hold = stateReader
		w.granted.Store(true)
		w.ready <- struct{}{}
	}
}

// popWaiter takes the first waiter off a's queue. a.mu must be held.
func (a *actor[K, V]) popWaiter() *ticket {
	w := a.waiters[0]
	a.waiters[0] = nil
	a.waiters = a.waiters[1:]
	return w
}
