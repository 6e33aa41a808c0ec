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

// ErrClosed is returned by [Runtime.Acquire] and [Runtime.Install] once
// Shutdown or Close has begun, and to every goroutine that was waiting for a
// turn then.
var ErrClosed = errors.New("actor: runtime closed")

// ErrTimeout is returned by [Runtime.Acquire] when the turn was not granted
// within Config.Timeout.
var ErrTimeout = errors.New("actor: timed out waiting for the turn")

// ErrExists is returned by [Runtime.Install] when the key already has an
// actor.
var ErrExists = errors.New("actor: key already has an actor")

// Config configures a Runtime.
type Config[K comparable, V any] struct {
	// Activate loads the state of key. It runs in the goroutine that needs the
	// turn, with that caller's context (bounded by Timeout), while the turn
	// is held. An error ends the attempt: the turn passes to the next waiter,
	// which activates again. Required.
	Activate func(ctx context.Context, key K) (V, error)

	// Passivate saves and releases the state of key. It runs while the turn
	// is held by the runtime, never concurrently with a turn of the key. If it
	// returns an error the actor stays resident and is retried later, except
	// during Shutdown, which reports the error and drops the actor. Required.
	Passivate func(key K, v V) error

	// PassivateAfter is how long an actor stays resident without a turn.
	// Zero or negative disables idle passivation.
	PassivateAfter time.Duration

	// MaxResident caps the number of resident actors; past it the least
	// recently used idle actors are passivated. Zero or negative: no cap.
	MaxResident int

	// Timeout bounds how long Acquire waits for a turn, activation included.
	// Zero or negative: only the caller's context bounds it.
	Timeout time.Duration

	// OnError receives errors the runtime cannot return to a caller
	// (passivation errors outside Shutdown, and those of turns that were
	// still running when Shutdown's context ended). Nil drops them.
	OnError func(key K, err error)
}

// Runtime runs keyed actors: for every key at most one live actor, which
// grants turns one at a time, in the order they were asked for. A turn runs on
// the goroutine that asked for it. All methods are safe for concurrent use.
type Runtime[K comparable, V any] struct {
	cfg   Config[K, V]
	epoch time.Time // origin of the monotonic stamps in actor.lastUsed

	actors   actorMap[K, V] // never two live actors for one key
	closed   atomic.Bool
	resident atomic.Int64 // actors whose state is loaded

	waited   atomic.Uint64 // turns that queued behind another turn
	waitTime atomic.Int64  // nanoseconds those turns queued, summed

	mu        sync.Mutex // guards the fields below
	live      int        // actors in the map, loaded or not
	liveZero  chan struct{}
	retireQ   []*actor[K, V] // actors asked to passivate when idle
	closeErrs []error        // passivation errors during Shutdown
	drained   bool           // the first Shutdown has returned

	retiring atomic.Bool // retireQ is not empty: the janitor serves it first

	lruMu sync.Mutex    // guards lru and the prev/next/listed fields of every actor
	lru   lruList[K, V] // loaded actors, least recently used first
	turns atomic.Uint64 // turns ended

	tickets sync.Pool // of *ticket, reused so that a contended turn allocates nothing

	kick chan struct{} // capacity 1: wakes the janitor early
	stop chan struct{} // closed by Shutdown: stops the janitor, wakes every waiter
	done chan struct{} // closed when the janitor has returned
}

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

// New returns a running Runtime. Close or Shutdown stops it.
func New[K comparable, V any](cfg Config[K, V]) (*Runtime[K, V], error) {
	if cfg.Activate == nil || cfg.Passivate == nil {
		return nil, errors.New("actor: Config.Activate and Config.Passivate are required")
	}
	r := &Runtime[K, V]{
		cfg:   cfg,
		epoch: time.Now(),
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	r.tickets.New = func() any { return &ticket{ready: make(chan struct{}, 1)} }
	go r.janitor()
	return r, nil
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
	if !r.actors.loadOrStore(key, a) {
		r.liveDone()
		return nil, ErrExists
	}
	r.setLoaded(a, v)
	return r.startTurn(ctx, a), nil
}

// create returns a new actor for key, or the one another goroutine
// created first.
func (r *Runtime[K, V]) create(key K) (*actor[K, V], error) {
	if err := r.addLive(); err != nil {
		return nil, err
	}
	a := &actor[K, V]{rt: r, key: key}
	if !r.actors.loadOrStore(key, a) {
		r.liveDone()
		return r.actors.load(key), nil
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

// setLoaded makes v the state of a, whose turn the caller owns, and counts
// a as resident and most recently used.
func (r *Runtime[K, V]) setLoaded(a *actor[K, V], v V) {
	a.mu.Lock()
	a.value = v
	a.loaded = true
	a.mu.Unlock()
	r.lruMu.Lock()
	a.lastUsed.Store(r.now())
	r.lru.pushBack(a)
	r.lruMu.Unlock()
	if n := r.resident.Add(1); r.cfg.MaxResident > 0 && n > int64(r.cfg.MaxResident) {
		r.wake()
	}
}

// touch stamps a as used now, moves it to the recent end of the list and
// counts the turn that just ended. An actor already at that end (a busy
// session served again and again) is stamped without the list's mutex,
// which would otherwise cost every turn a lock (about 20 ns, a tenth of a
// read-only Do; BenchmarkDo/read in engine).
func (r *Runtime[K, V]) touch(a *actor[K, V]) {
	r.turns.Add(1)
	if r.lru.tail.Load() == a {
		a.lastUsed.Store(r.now())
		return
	}
	r.lruMu.Lock()
	a.lastUsed.Store(r.now())
	if a.listed {
		r.lru.moveToBack(a)
	}
	r.lruMu.Unlock()
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

// passivate runs the Passivate hook on a, whose turn the caller owns, and
// reports whether a left memory.
func (r *Runtime[K, V]) passivate(a *actor[K, V]) bool {
	if err := r.cfg.Passivate(a.key, a.value); err != nil {
		if !r.closed.Load() {
			r.report(a.key, err)
			return false // stay resident; retried on the next release or tick
		}
		r.mu.Lock()
		late := r.drained
		if !late {
			r.closeErrs = append(r.closeErrs, err)
		}
		r.mu.Unlock()
		if late {
			r.report(a.key, err)
		}
	}
	var zero V
	a.mu.Lock()
	a.value = zero
	a.loaded = false
	a.retire = false
	a.mu.Unlock()
	r.lruMu.Lock()
	r.lru.remove(a)
	r.lruMu.Unlock()
	r.resident.Add(-1)
	return true
}

func (r *Runtime[K, V]) report(key K, err error) {
	if r.cfg.OnError != nil {
		r.cfg.OnError(key, err)
	}
}

// tryPassivate passivates a if nobody holds or waits for its turn and
// idle, checked once the runtime owns the turn, still holds. It reports
// whether a left memory.
func (r *Runtime[K, V]) tryPassivate(a *actor[K, V], idle func(*actor[K, V]) bool) bool {
	a.mu.Lock()
	if a.dead || a.busy || !a.loaded || len(a.waiters) > 0 {
		a.mu.Unlock()
		return false
	}
	a.busy = true
	a.mu.Unlock()
	tried, done := idle(a), false
	if tried {
		done = r.passivate(a) // a failure is retried later, not at once
	}
	a.mu.Lock()
	if !tried && a.retire && len(a.waiters) == 0 {
		// A Retire that came while the runtime held the turn left the
		// work to this release: queue it. (With waiters, the next turn's
		// release sees a.retire.)
		r.enqueueRetire(a)
	}
	r.handOff(a)
	a.mu.Unlock()
	return done
}

// Retire asks the actor of key, if there is one, to passivate as soon as it
// is idle: at once if no turn is running, else when the current turn ends.
// It never blocks; the runtime's own goroutine does the work.
func (r *Runtime[K, V]) Retire(key K) {
	a := r.actors.load(key)
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dead {
		return
	}
	a.retire = true
	if a.busy {
		return // the current turn's release (or tryPassivate's) will see it
	}
	r.enqueueRetire(a)
}

// enqueueRetire hands a, asked to retire, to the janitor, unless it is
// not loaded or queued already. a.mu must be held.
func (r *Runtime[K, V]) enqueueRetire(a *actor[K, V]) {
	if !a.loaded || a.queued {
		return
	}
	a.queued = true
	r.mu.Lock()
	r.retireQ = append(r.retireQ, a)
	r.retiring.Store(true)
	r.mu.Unlock()
	r.wake()
}

// Resident returns the number of actors whose state is loaded.
func (r *Runtime[K, V]) Resident() int { return int(r.resident.Load()) }

// Stats counts a Runtime's turns since New.
type Stats struct {
	Turns    uint64        // turns ended (released)
	Waited   uint64        // turns asked for that queued behind another turn (granted or not)
	WaitTime time.Duration // time those queued, summed
}

// Stats returns the runtime's counters. It is cheap: the counters are kept
// on paths the turns take anyway.
func (r *Runtime[K, V]) Stats() Stats {
	return Stats{Turns: r.turns.Load(), Waited: r.waited.Load(), WaitTime: time.Duration(r.waitTime.Load())}
}

// Shed passivates up to n of the least recently used idle actors now, on
// the caller's goroutine, and returns how many left memory. Actors whose
// turn is held or waited for are skipped, so a caller that holds a turn may
// shed others (to free what their state holds, such as file descriptors).
func (r *Runtime[K, V]) Shed(n int) int {
	if n <= 0 {
		return 0
	}
	shed := 0
	for _, v := range r.victims(n) {
		if r.passivateUnused(v) {
			shed++
		}
	}
	return shed
}

// victim is an actor picked for passivation, with its lastUsed when it
// was picked.
type victim[K comparable, V any] struct {
	a    *actor[K, V]
	used int64
}

// victims picks up to n of the least recently used actors whose turn is
// neither held nor waited for, walking the list from its least recently
// used end: no scan of every actor, no sort.
func (r *Runtime[K, V]) victims(n int) []victim[K, V] {
	vs := make([]victim[K, V], 0, n)
	r.lruMu.Lock()
	for a := r.lru.front; a != nil && len(vs) < n; a = a.next {
		if a.turn.Load() == 0 {
			vs = append(vs, victim[K, V]{a, a.lastUsed.Load()})
		}
	}
	r.lruMu.Unlock()
	return vs
}

// passivateUnused passivates v's actor unless a turn used it after it was
// picked; it reports whether the actor left memory.
func (r *Runtime[K, V]) passivateUnused(v victim[K, V]) bool {
	return r.tryPassivate(v.a, func(a *actor[K, V]) bool { return a.lastUsed.Load() == v.used })
}

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

func (r *Runtime[K, V]) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Runtime[K, V]) now() int64 { return int64(time.Since(r.epoch)) }

// janitor passivates actors that were asked to retire, that are idle for
// longer than PassivateAfter, or that exceed MaxResident.
func (r *Runtime[K, V]) janitor() {
	defer close(r.done)
	var tick <-chan time.Time
	if r.cfg.PassivateAfter > 0 {
		ticker := time.NewTicker(max(r.cfg.PassivateAfter/2, time.Millisecond))
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case <-r.stop:
			return
		case <-tick:
			r.passivateIdle()
		case <-r.kick:
			r.retireQueued()
			r.evictOverflow()
		}
	}
}

// retireQueued passivates the actors that Retire asked for.
func (r *Runtime[K, V]) retireQueued() {
	r.mu.Lock()
	q := r.retireQ
	r.retireQ = nil
	r.retiring.Store(false)
	r.mu.Unlock()
	for _, a := range q {
		a.mu.Lock()
		a.queued = false
		a.mu.Unlock()
		if r.closed.Load() {
			continue // Shutdown passivates it
		}
		r.tryPassivate(a, retiring)
	}
}

// retiring reports whether a was asked to retire. Retire sets the flag
// under a.mu at any time, so it is read under a.mu too.
func retiring[K comparable, V any](a *actor[K, V]) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.retire
}

// passivateIdle passivates the actors unused for PassivateAfter. They are
// the front of the least-recently-used list, which is ordered by lastUsed.
func (r *Runtime[K, V]) passivateIdle() {
	limit := r.now() - int64(r.cfg.PassivateAfter)
	idle := func(a *actor[K, V]) bool { return a.lastUsed.Load() <= limit }
	r.lruMu.Lock()
	var old []*actor[K, V]
	for a := r.lru.front; a != nil && idle(a); a = a.next {
		old = append(old, a)
	}
	r.lruMu.Unlock()
	for _, a := range old {
		if r.closed.Load() {
			return // Shutdown passivates the rest, within its ctx
		}
		r.serveRetires()
		r.tryPassivate(a, idle)
	}
}

// serveRetires passivates the actors that Retire asked for, if any, ahead
// of the rest of a batch of idle or overflowing actors: a hand-over request
// waits for at most one passivation, not for the whole batch (thousands of
// fsync'd writes take seconds).
func (r *Runtime[K, V]) serveRetires() {
	if r.retiring.Load() {
		r.retireQueued()
	}
}

// evictOverflow passivates least recently used idle actors until no more
// than MaxResident remain: as many as there are too many (see victims).
func (r *Runtime[K, V]) evictOverflow() {
	over := int(r.resident.Load()) - r.cfg.MaxResident
	if r.cfg.MaxResident <= 0 || over <= 0 {
		return
	}
	for _, v := range r.victims(over) {
		if r.closed.Load() {
			return // Shutdown passivates the rest, within its ctx
		}
		r.serveRetires()
		r.passivateUnused(v)
	}
}
