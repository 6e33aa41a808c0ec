// Package actor is a small runtime of keyed actors: for every key at most one
// live actor, which owns that key's state and grants turns on it one at a
// time, in arrival order, without polling.
//
// A turn runs on the goroutine that asked for it (the actor lends it the
// turn); waiters sleep on a channel until the turn is handed to them. The
// turn travels in the context.Context that Acquire returns, so a nested
// Acquire of the same key with that context, or one derived from it, runs
// inline; this holds through other keys too (A, then B, then A again). A turn
// is dead once released, and a context retained past that queues normally.
//
// AcquireShared asks for a shared turn: shared turns of a key run together,
// an exclusive turn excludes them all, and once an exclusive turn waits (or
// Retire asked for the actor) new shared turns queue behind it. An
// uncontended turn is taken and let go with one compare-and-swap each. A
// goroutine about to wait while its context holds turns checks the wait-for
// graph of the turns held through contexts, and fails with ErrDeadlock if
// its wait would close a cycle; nothing of that runs unless a turn waits.
//
// State is loaded by Config.Activate when the first turn needs it and saved
// by Config.Passivate when the actor goes idle for PassivateAfter, when more
// than MaxResident actors are loaded (least recently used first), when Retire
// asks for it, and at Shutdown or Close. An actor that a caller finds just as
// it is being removed is looked up again: a turn request is never lost and
// never served by two incarnations. Install puts state that is already loaded
// under a fresh key (a value moving to a new key) and returns its turn
// without calling Activate.
//
// A Retire request is served ahead of a batch of idle or overflowing actors
// being passivated, so it waits for one passivation at most. Shed passivates
// idle actors on the caller's goroutine (to free what their state holds),
// and Stats counts turns and the time turns spent queued.
//
// Every method is safe for concurrent use. Errors callers branch on:
// ErrClosed, ErrTimeout, ErrDeadlock and ErrExists. A Runtime starts one goroutine;
// Shutdown (or Close) stops it, wakes every waiter with ErrClosed and
// passivates every actor as its turn ends.
package actor
