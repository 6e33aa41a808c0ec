package actor

import (
	"context"
	"errors"
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

// ErrDeadlock is returned by [Runtime.Acquire] and [Runtime.AcquireShared]
// when the wait would close a cycle: the turn asked for is held by a
// goroutine that waits, directly or through others, for a turn that the
// caller's ctx holds. Only turns carried by contexts are seen: a goroutine
// that holds a turn and waits with a context that does not carry it is
// invisible to the check.
var ErrDeadlock = errors.New("actor: deadlock: the turn is held by a waiter for a turn this context holds")

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

	waited    atomic.Uint64 // turns that queued behind another turn
	deadlocks atomic.Uint64 // waits refused with ErrDeadlock
	waitTime  atomic.Int64  // nanoseconds those turns queued, summed

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

	hooks testHooks // nil functions outside the package's own tests

	kick chan struct{} // capacity 1: wakes the janitor early
	stop chan struct{} // closed by Shutdown: stops the janitor, wakes every waiter
	done chan struct{} // closed when the janitor has returned
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

func (r *Runtime[K, V]) report(key K, err error) {
	if r.cfg.OnError != nil {
		r.cfg.OnError(key, err)
	}
}

// Stats counts a Runtime's turns since New.
type Stats struct {
	Turns     uint64        // turns ended (released)
	Waited    uint64        // turns asked for that queued behind another turn (granted or not)
	Deadlocks uint64        // waits refused with ErrDeadlock
	WaitTime  time.Duration // time those queued, summed
}

// Stats returns the runtime's counters. It is cheap: the counters are kept
// on paths the turns take anyway.
func (r *Runtime[K, V]) Stats() Stats {
	return Stats{
		Turns:     r.turns.Load(),
		Waited:    r.waited.Load(),
		Deadlocks: r.deadlocks.Load(),
		WaitTime:  time.Duration(r.waitTime.Load()),
	}
}

func (r *Runtime[K, V]) now() int64 { return int64(time.Since(r.epoch)) }

// testHooks let the package's tests stop a goroutine in a window that
// timing alone would rarely hit.
type testHooks struct {
	beforeStore func() // create, before it stores its new actor
	lostStore   func() // create, after another actor was found stored

	sharedSlow  func()          // releaseHold of a shared turn, before it locks a.mu
	sharedOwner func()          // releaseHold, once the last shared turn out owns the actor
	granted     func(w *ticket) // wait, once w was granted, before the wait is unpublished
}
