// Package engine runs web sessions as actors: each active session has one
// owner for its values and, with the file store, for its cross-process lock.
//
// Applications hold an *Engine (from Open for a directory of session files,
// or New for any persist.Store) and work on sessions with Do:
//
//	err := eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
//		visits, _ := engine.Get[int](s, "visits") // 0 on the first visit
//		s.Set("visits", visits+1)
//		flash, _ := engine.Pop[string](s, "flash") // read and deleted in this turn: shown once
//		...
//		return nil
//	})
//
// Turns of one session run one at a time, in the order asked, whichever
// goroutine (or, with the file store, process) asks. The ctx handed to fn
// carries the turn: Do, Regenerate and Destroy with it run inline, also
// through other sessions (A's fn calls Do on B, whose fn calls Do on A). A
// failing or panicking fn is rolled back. When the outermost turn ends its
// changes are written as Config.Durability says.
//
// A turn that only reads can be shared: [Engine.View] runs fn in a shared
// turn, and Views of one session run together while a Do excludes them
// all. Once a Do waits (or another process asks for the session), new
// Views queue behind it. A change in a View is not applied and makes it
// return [ErrReadOnly]; so does a Do, Regenerate, Destroy or DestroyOwner
// with a View's ctx (a shared turn is never upgraded). A wait that would
// close a cycle of turns held through contexts (A's holder waits for B,
// whose holder waits for A) fails at once with [ErrDeadlock] instead of
// waiting for LockTimeout; a call whose ctx carries no turn cannot be part
// of a cycle the engine sees.
//
// A session's life: Create writes it; the first Do loads it and takes its
// lock (activation); it stays resident, serving turns from memory, until it
// has been idle for PassivateAfter, another process asks for it, MaxResident
// pushes it out, or Close: then it is saved and unlocked (passivation).
// IdleTimeout after its last Do, or Lifetime after Create, it expires; the
// sweeper deletes expired records. Regenerate moves it to a new ID and
// Destroy deletes it; no turn queued behind them can bring the old ID back.
//
// A session can carry its own limits, for a "remember me" login:
// [Session.SetIdleTimeout] and [Session.SetLifetime], capped by
// Config.MaxIdleTimeout and Config.MaxLifetime, while Config.IdleTimeout
// and Config.Lifetime stay what every other session gets. And it can carry
// an owner, the user it belongs to ([Session.SetOwner]), stored beside its
// values: [Engine.DestroyOwner] destroys every session of a user, in every
// process that shares the store ("log out everywhere", a changed
// password), and no request in flight brings one back. Both are journaled
// like values and written when the turn commits, whatever the Durability.
//
// A session whose store lock was lost (with the file store: its lock file
// or directory removed or replaced behind the engine's back) is dropped from
// memory on whichever path notices (a write, Destroy, Regenerate, expiry,
// the store's request to let go); its next turn locks and loads it again.
// Regenerate then fails rather than hand out a new ID while the old one can
// still be served. Engine.Stats counts turns, waits, lock timeouts,
// hand-overs, commits and more; docs/operations.md shows how to publish
// them with expvar or as OpenTelemetry metrics.
//
// Values keep their Go types across passivation and restarts: they are
// encoded by Config.Codec, encoding/gob by default ([GobCodec]; see
// [Codec] for what another codec must promise). With gob, the basic types, slices of them,
// map[string]any, []any, []map[string]any, maps from string to string,
// int, int64, float64, bool and []string, map[int]string, map[int]int,
// time.Time, []time.Time and time.Duration need nothing; custom types must
// be registered with gob.Register and have exported fields (or their own
// gob encoding). A value that cannot be encoded fails the Do that stored
// it with an EncodeError naming its key and type, and nothing is written.
//
// gob does not keep pointers: it stores what a pointer points to, and a
// loaded value (after passivation, a restart or a hand-over) has the type
// registered for what it points to. A *int or **int comes back as an int;
// for a custom type T, gob.Register(T{}) brings both T and *T back as T,
// and gob.Register(&T{}) brings both back as *T. A nil pointer cannot be
// stored; a nil value can. While the session stays resident, Get returns
// exactly what Set stored.
//
// Adapters that hold a turn across a whole request use the same path in
// pieces: [Engine.Begin] (or [Engine.BeginView] for a shared turn, or
// [Engine.BeginLazy] for a visitor without a session yet), [Turn.Do],
// [Turn.View], [Turn.Commit] to write before the response's first byte,
// and [Turn.End]. A Turn's context carries it: engine calls with a context
// derived from it run inline, and other goroutines' calls with it run one
// at a time.
//
// To watch the engine: Config.OnEvent receives each session's creation,
// regeneration, destruction and expiry ([Event], named by store key, never
// by ID) after the fact, on a goroutine of the engine's own, in order per
// session; Config.Observer ([Observer]) receives timings (turn waits and
// why, turns, commits per store, hand-overs, residency, failures) with the
// turn's ctx. The module github.com/lockstep-go/lockstep/otel turns both
// into OpenTelemetry metrics and spans, and package dashboard serves them,
// with the stored sessions, as a page to mount.
//
// Every method of Engine is safe for concurrent use; a Session is valid only
// inside the fn it was passed to (or until Turn.End), on that goroutine.
// Callers branch on [ErrNotFound], [ErrLockTimeout], [ErrClosed],
// [ErrTurnEnded], [ErrReadOnly], [ErrDeadlock] and [ErrNoInspector] with
// errors.Is; failures from the store or the codec come
// as an [*Error] naming the operation and the (redacted) session.
// [Engine.Shutdown] or [Engine.Close] must be called: it wakes every waiter
// with ErrClosed, saves and unlocks every resident session and stops the
// engine's goroutines.
package engine
