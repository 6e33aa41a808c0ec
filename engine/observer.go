package engine

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// Observer receives the timings of an engine's work, for metrics and
// traces: how long turns waited and why, how long they ran, what commits
// cost, hand-overs, residency and failures. Stats counts; an Observer
// times. The module github.com/lockstep-go/lockstep/otel builds one that
// records OpenTelemetry metrics and spans.
//
// Every field is optional. The engine calls them synchronously, on the
// goroutine that did the work, some while the session's turn or store lock
// is held: they must be quick, must not block and must not call the
// engine. They may be called concurrently for different sessions. The
// ctx they get is the turn's (derived from the context passed to Do or
// Begin, so it carries the request's span) when there is one, else
// context.Background(). A nil Config.Observer costs one pointer check per
// turn.
type Observer struct {
	// TurnWaited is called once per turn granted to an outermost Do, View
	// or Begin (calls that run inline in a turn have no wait), with how
	// long the call waited for the turn and why.
	TurnWaited func(ctx context.Context, w Wait)

	// TurnEnded is called when an outermost turn ends (committed and
	// released), with how long it was held and the error its call
	// returns (nil if it succeeded). A turn whose fn panicked is not
	// reported.
	TurnEnded func(ctx context.Context, t TurnInfo)

	// Committed is called for every write of a session's record to the
	// store: a turn's commit, a refresh of its expiry, Create, Regenerate's
	// new record and passivation.
	Committed func(ctx context.Context, c Commit)

	// HandOverTaken is called when taking a session's store lock had to
	// wait for another holder (another process or engine) to hand it over,
	// with how long that took.
	HandOverTaken func(ctx context.Context, wait time.Duration)

	// HandOverGiven is called when a session left memory because another
	// holder asked for it.
	HandOverGiven func()

	// Activated is called when a session becomes resident: loaded from the
	// store by a turn, or new in memory (a lazy session's creation,
	// Regenerate's new ID). Activated minus Passivated is the number of
	// resident sessions (Stats.Active).
	Activated func(ctx context.Context, a Activation)

	// Passivated is called when a session leaves memory: passivated (idle,
	// MaxResident, a hand-over, Shutdown), or dropped because it was
	// destroyed, expired, moved to a new ID or its lock was lost.
	Passivated func(p Passivation)

	// LockTimeout is called when a call gave up waiting after
	// Config.LockTimeout and returns ErrLockTimeout, with how long it
	// waited.
	LockTimeout func(ctx context.Context, waited time.Duration)

	// Deadlock is called when a wait fails at once because it would close
	// a cycle of turns held through their contexts.
	Deadlock func(ctx context.Context)

	// LockLost is called when a session is dropped from memory because its
	// store lock was lost (removed or replaced behind the engine's back).
	LockLost func()
}

// WaitReason says what a turn waited for.
type WaitReason uint8

const (
	// WaitNone: the turn was free and the session resident.
	WaitNone WaitReason = iota
	// WaitQueue: the turn queued behind another turn of the session in
	// this process.
	WaitQueue
	// WaitLoad: the session had to be loaded from the store (activation),
	// its store lock free.
	WaitLoad
	// WaitHandOver: the session's store lock was held by another holder
	// (another process or engine) that had to hand it over; over a store
	// with leases (Redis, PostgreSQL) this includes waiting for the lease
	// of a holder that died to run out, which the store does not tell
	// apart.
	WaitHandOver
)

// String returns a short lowercase name: "none", "queue", "load",
// "handover".
func (r WaitReason) String() string {
	switch r {
	case WaitNone:
		return "none"
	case WaitQueue:
		return "queue"
	case WaitLoad:
		return "load"
	case WaitHandOver:
		return "handover"
	}
	return "unknown"
}

// Wait is how long a call waited for its turn.
type Wait struct {
	// Duration runs from the call to the grant, activation included.
	Duration time.Duration
	// Reason is what the wait was for. A turn that both queued and then
	// loaded the session reports the load (WaitLoad or WaitHandOver).
	Reason WaitReason
	// Err is the reason the call gave up (an error matching
	// ErrLockTimeout, ErrDeadlock, ErrClosed, ctx's error), nil for a
	// granted turn.
	Err error
	// Shared is true for a View's shared turn. Shared turns of a session
	// run together and keep no per-turn record of why they waited: their
	// Reason is WaitNone.
	Shared bool
}

// TurnInfo describes an outermost turn that ended.
type TurnInfo struct {
	Duration time.Duration // from the grant to the release, commit included
	Err      error         // what the call returns; nil for success
	Shared   bool          // a View's shared turn
}

// Commit describes one write of a session's record.
type Commit struct {
	Store    string        // the store's name, as Engine.StoreName returns it
	Duration time.Duration // the store's Save
	Bytes    int           // the encoded values written
	Err      error         // nil, or why the write failed
}

// Activation describes a session that became resident.
type Activation struct {
	// Loaded is true when the session was loaded from the store, false
	// when it is new in memory.
	Loaded bool
	// Duration is the load's, store lock included (zero when not Loaded).
	Duration time.Duration
	// HandOver is true when the load had to wait for another holder.
	HandOver bool
}

// Passivation describes a session that left memory.
type Passivation struct {
	// HandOver is true when another holder asked for the session.
	HandOver bool
	// Dropped is true when nothing was saved: the session was destroyed,
	// expired, moved to a new ID, or its lock was lost.
	Dropped bool
}

// observed is what a resident session keeps for its Observer, allocated
// only when the engine has one.
type observed struct {
	ctx      context.Context // the current outermost turn's
	granted  time.Time       // when the current outermost turn was granted; zero when none
	released time.Time       // when the last outermost turn was released
	loaded   time.Duration   // the activation that loaded the state, until the turn that did it reports it
	reason   WaitReason      // WaitLoad or WaitHandOver, with loaded
	left     bool            // Passivated was reported
}

// StoreName returns a short name for the engine's store, derived from its
// package and type: "memory" for persist.Memory, else the last element of
// the store's package path ("filestore", "redisstore", "pgstore").
// Metrics label commits with it.
func (e *Engine) StoreName() string { return e.storeName }

func storeName(s persist.Store) string {
	t := reflect.TypeOf(s)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	pkg = pkg[strings.LastIndexByte(pkg, '/')+1:]
	if pkg == "persist" || pkg == "" {
		return strings.ToLower(t.Name())
	}
	return pkg
}

// obsOf returns st's observed, allocating it.
func obsOf(st *sessionState) *observed {
	if st.ob == nil {
		st.ob = &observed{}
	}
	return st.ob
}

// waitStart returns the time a turn is asked for, when there is an
// Observer to tell.
func (e *Engine) waitStart() time.Time {
	if e.obs == nil {
		return time.Time{}
	}
	return time.Now()
}

// observeWait reports the wait of the turn t just granted on st.
func (e *Engine) observeWait(ctx context.Context, st *sessionState, t context.Context, start time.Time) {
	if e.obs != nil {
		e.observeWaitNow(ctx, st, t, start)
	}
}

func (e *Engine) observeWaitNow(ctx context.Context, st *sessionState, t context.Context, start time.Time) {
	now := time.Now()
	ob := obsOf(st)
	w := Wait{Duration: now.Sub(start)}
	switch {
	case ob.loaded > 0 || ob.reason != WaitNone:
		w.Reason = ob.reason
		ob.loaded, ob.reason = 0, WaitNone
	case ob.released.After(start):
		w.Reason = WaitQueue
	}
	if t == nil {
		t = ctx
	}
	ob.ctx, ob.granted = t, now
	if f := e.obs.TurnWaited; f != nil {
		f(t, w)
	}
}

// waitFailed reports a call that did not get its turn, and returns err.
func (e *Engine) waitFailed(ctx context.Context, start time.Time, err error) error {
	if e.obs == nil {
		return err
	}
	d := time.Since(start)
	if f := e.obs.TurnWaited; f != nil {
		f(ctx, Wait{Duration: d, Err: err})
	}
	switch {
	case errors.Is(err, ErrLockTimeout):
		if f := e.obs.LockTimeout; f != nil {
			f(ctx, d)
		}
	case errors.Is(err, ErrDeadlock):
		if f := e.obs.Deadlock; f != nil {
			f(ctx)
		}
	}
	return err
}

// observeShared reports the wait of a View's shared turn t, granted now,
// and returns the time of the grant for observeSharedEnd. Several shared
// turns of st run at once, so nothing is kept on st.
func (e *Engine) observeShared(t context.Context, start time.Time) time.Time {
	now := time.Now()
	if f := e.obs.TurnWaited; f != nil {
		f(t, Wait{Duration: now.Sub(start), Shared: true})
	}
	return now
}

// observeSharedEnd reports the end of a View's shared turn t, granted at
// granted.
func (e *Engine) observeSharedEnd(t context.Context, granted time.Time, err error) {
	if f := e.obs.TurnEnded; f != nil {
		f(t, TurnInfo{Duration: time.Since(granted), Err: err, Shared: true})
	}
}

// observeTimeout reports a lock timeout, after waiting d, outside a
// turn's wait (Create, Regenerate's new ID, a Destroy that locks again).
func (e *Engine) observeTimeout(ctx context.Context, d time.Duration) {
	if e.obs != nil && e.obs.LockTimeout != nil {
		e.obs.LockTimeout(ctx, d)
	}
}

// observeTurn reports the end of the outermost turn on st, about to be
// released.
func (e *Engine) observeTurn(st *sessionState, err error) {
	if e.obs == nil || st.ob == nil {
		return
	}
	ob := st.ob
	now := time.Now()
	if !ob.granted.IsZero() {
		if f := e.obs.TurnEnded; f != nil {
			f(ob.ctx, TurnInfo{Duration: now.Sub(ob.granted), Err: err})
		}
	}
	ob.ctx, ob.granted, ob.released = nil, time.Time{}, now
}

// observeCommit reports a write of st's record that took since start.
func (e *Engine) observeCommit(st *sessionState, start time.Time, bytes int, err error) {
	f := e.obs.Committed
	if f == nil {
		return
	}
	ctx := context.Background()
	if st.ob != nil && st.ob.ctx != nil {
		ctx = st.ob.ctx
	} else if st.ctx != nil {
		ctx = st.ctx
	}
	f(ctx, Commit{Store: e.storeName, Duration: time.Since(start), Bytes: bytes, Err: err})
}

// observeLoad reports st, loaded since start under lock, as resident.
func (e *Engine) observeLoad(ctx context.Context, st *sessionState, lock persist.Lock, start time.Time) {
	if e.obs == nil {
		return
	}
	ob := obsOf(st)
	ob.loaded = max(time.Since(start), 1)
	ob.reason = WaitLoad
	if w, ok := lock.(persist.HandOverReporter); ok && w.Waited() {
		ob.reason = WaitHandOver
	}
	if f := e.obs.Activated; f != nil {
		f(ctx, Activation{Loaded: true, Duration: ob.loaded, HandOver: ob.reason == WaitHandOver})
	}
}

// observeNew reports st as new in memory (installed on a fresh ID).
func (e *Engine) observeNew(ctx context.Context) {
	if e.obs != nil && e.obs.Activated != nil {
		e.obs.Activated(ctx, Activation{})
	}
}

// observeHandOver reports a store lock that waited for another holder.
func (e *Engine) observeHandOver(ctx context.Context, wait time.Duration) {
	if e.obs != nil && e.obs.HandOverTaken != nil {
		e.obs.HandOverTaken(ctx, wait)
	}
}

// passivateHook returns the runtime's Passivate hook.
func (e *Engine) passivateHook() func(string, *sessionState) error {
	if e.obs == nil {
		return e.passivate
	}
	return e.passivateObserved
}

// passivateObserved is the runtime's Passivate hook when the engine has an
// Observer: it reports each state that leaves memory once. The runtime
// drops a state when the hook succeeds, and during Shutdown also when it
// fails; a failure before (kept resident, tried again) is not reported.
func (e *Engine) passivateObserved(id string, st *sessionState) error {
	wanted := st.wanted.Load()
	err := e.passivate(id, st)
	if err != nil && !e.closed() {
		return err
	}
	if st == e.tomb { // shared by every gone actor; each leaves once
		e.reportPassivated(Passivation{Dropped: true})
		return err
	}
	ob := obsOf(st)
	if !ob.left {
		ob.left = true
		e.reportPassivated(Passivation{HandOver: wanted, Dropped: st.gone || st.lost})
	}
	return err
}

func (e *Engine) reportPassivated(p Passivation) {
	if p.HandOver && !p.Dropped && e.obs.HandOverGiven != nil {
		e.obs.HandOverGiven()
	}
	if e.obs.Passivated != nil {
		e.obs.Passivated(p)
	}
}

// observeLost reports a lost lock.
func (e *Engine) observeLost() {
	if e.obs != nil && e.obs.LockLost != nil {
		e.obs.LockLost()
	}
}

// MultiObserver returns an Observer that calls each of obs in turn (nil
// ones are skipped), as io.MultiWriter writes to each writer: for metrics
// and a dashboard together. It returns nil if every one is nil.
func MultiObserver(obs ...*Observer) *Observer {
	var list []*Observer
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return &Observer{
		TurnWaited:    fanCtx(list, func(o *Observer) func(context.Context, Wait) { return o.TurnWaited }),
		TurnEnded:     fanCtx(list, func(o *Observer) func(context.Context, TurnInfo) { return o.TurnEnded }),
		Committed:     fanCtx(list, func(o *Observer) func(context.Context, Commit) { return o.Committed }),
		HandOverTaken: fanCtx(list, func(o *Observer) func(context.Context, time.Duration) { return o.HandOverTaken }),
		HandOverGiven: fan0(list, func(o *Observer) func() { return o.HandOverGiven }),
		Activated:     fanCtx(list, func(o *Observer) func(context.Context, Activation) { return o.Activated }),
		Passivated:    fan1(list, func(o *Observer) func(Passivation) { return o.Passivated }),
		LockTimeout:   fanCtx(list, func(o *Observer) func(context.Context, time.Duration) { return o.LockTimeout }),
		Deadlock:      fan1(list, func(o *Observer) func(context.Context) { return o.Deadlock }),
		LockLost:      fan0(list, func(o *Observer) func() { return o.LockLost }),
	}
}

// fanCtx returns a func that calls field of each observer that has it, or
// nil if none has.
func fanCtx[T any](list []*Observer, field func(*Observer) func(context.Context, T)) func(context.Context, T) {
	var fs []func(context.Context, T)
	for _, o := range list {
		if f := field(o); f != nil {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		return nil
	}
	return func(ctx context.Context, v T) {
		for _, f := range fs {
			f(ctx, v)
		}
	}
}

func fan1[T any](list []*Observer, field func(*Observer) func(T)) func(T) {
	var fs []func(T)
	for _, o := range list {
		if f := field(o); f != nil {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		return nil
	}
	return func(v T) {
		for _, f := range fs {
			f(v)
		}
	}
}

func fan0(list []*Observer, field func(*Observer) func()) func() {
	var fs []func()
	for _, o := range list {
		if f := field(o); f != nil {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		return nil
	}
	return func() {
		for _, f := range fs {
			f()
		}
	}
}
