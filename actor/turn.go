package actor

import (
	"context"
	"sync/atomic"
	"time"
)

// turnKey is the context key under which a Turn finds itself.
type turnKey struct{}

// link is a turn seen through a context, whatever the runtime's type
// parameters, so that call chains can cross runtimes.
type link interface {
	owner() any      // the actor the turn belongs to
	alive() bool     // the turn has not ended
	parentLink() any // the next turn up the chain, or nil
}

// Turn is the right to run on one actor's state. It is a context.Context
// (derived from the context passed to Acquire) that carries the turn, so
// that an Acquire with it, or with any context derived from it, runs inline
// instead of queueing. Once Release is called the turn is dead and a
// retained context queues like any other.
//
// A Turn is owned by the goroutine that acquired it; its context must not
// be used to run on the actor's state from other goroutines.
type Turn[K comparable, V any] struct {
	context.Context
	a       *actor[K, V]
	ended   atomic.Bool
	shared  bool
	stamped bool // see Stamp
}

// Value returns the turn itself for the package's key and defers to the
// parent context otherwise.
func (t *Turn[K, V]) Value(key any) any {
	if key == (turnKey{}) {
		return t
	}
	return t.Context.Value(key)
}

// Key returns the key of the actor the turn belongs to.
func (t *Turn[K, V]) Key() K { return t.a.key }

// State returns a pointer to the actor's state, valid until Release.
func (t *Turn[K, V]) State() *V { return &t.a.value }

// Alive reports whether the turn has not ended.
func (t *Turn[K, V]) Alive() bool { return t.alive() }

// Retire asks for the actor to be passivated when this turn ends (for
// example because its state was deleted).
func (t *Turn[K, V]) Retire() {
	a := t.a
	a.mu.Lock()
	a.retire = true
	a.fixSlow()
	a.mu.Unlock()
}

// Retiring reports whether the actor will be passivated when this turn
// ends (Retire was called, by the turn or by Runtime.Retire).
func (t *Turn[K, V]) Retiring() bool {
	a := t.a
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.retire
}

// Stamp records at, a reading of time.Now taken in the turn (at its
// start, say), as the time the actor was last used, so that Release need
// not read the clock: a clock read costs a read-only turn a tenth of
// its time. A Time without a monotonic clock reading (from a fake clock) is
// ignored. Only the turn's goroutine may call it, before Release.
func (t *Turn[K, V]) Stamp(at time.Time) {
	if at == at.Round(0) { // Round(0) strips the monotonic reading
		return
	}
	t.stamped = true
	n := int64(at.Sub(t.a.rt.epoch))
	if t.shared && n-t.a.lastUsed.Load() < stampGrain {
		return // shared turns on many cores would all write one cache line
	}
	t.a.lastUsed.Store(n)
}

// stampGrain is how much later than the actor's stamp a shared turn must
// be stamped to be recorded: idle passivation counts minutes.
const stampGrain = int64(time.Millisecond)

// Shared reports whether the turn is shared (see Runtime.AcquireShared).
func (t *Turn[K, V]) Shared() bool { return t.shared }

// Release ends the turn: once no turn holds the actor, it passivates if
// that was asked for, then the next waiters get their turn. Releasing a
// dead turn does nothing.
func (t *Turn[K, V]) Release() {
	if t.ended.Swap(true) {
		return
	}
	a := t.a
	a.rt.touch(a, t.stamped)
	if t.shared {
		a.rt.releaseHold(a, stateReader)
	} else {
		a.rt.releaseHold(a, stateExclusive)
	}
}

func (t *Turn[K, V]) owner() any      { return t.a }
func (t *Turn[K, V]) alive() bool     { return !t.ended.Load() }
func (t *Turn[K, V]) parentLink() any { return t.Context.Value(turnKey{}) }

// findTurn returns the live turn of a that ctx carries, if any.
func findTurn[K comparable, V any](ctx context.Context, a *actor[K, V]) *Turn[K, V] {
	for v := ctx.Value(turnKey{}); v != nil; {
		l := v.(link)
		if l.owner() == any(a) && l.alive() {
			return l.(*Turn[K, V])
		}
		v = l.parentLink()
	}
	return nil
}

// Lookup returns the live turn of r, carried by ctx, whose state satisfies
// match, or nil. It lets callers find a turn by what its state holds rather
// than by key.
func Lookup[K comparable, V any](ctx context.Context, r *Runtime[K, V], match func(*V) bool) *Turn[K, V] {
	for v := ctx.Value(turnKey{}); v != nil; {
		l := v.(link)
		if t, ok := l.(*Turn[K, V]); ok && t.a.rt == r && t.alive() && match(&t.a.value) {
			return t
		}
		v = l.parentLink()
	}
	return nil
}

// LookupShared returns a live shared turn of r carried by ctx, or nil.
func LookupShared[K comparable, V any](ctx context.Context, r *Runtime[K, V]) *Turn[K, V] {
	for v := ctx.Value(turnKey{}); v != nil; {
		l := v.(link)
		if t, ok := l.(*Turn[K, V]); ok && t.a.rt == r && t.alive() && t.shared {
			return t
		}
		v = l.parentLink()
	}
	return nil
}
