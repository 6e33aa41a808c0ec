package engine

import (
	"context"
	"errors"
	"io/fs"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/lockstep-go/lockstep/actor"
	"github.com/lockstep-go/lockstep/persist"
)

// Do runs fn in a turn of session id: no other turn of the session runs
// until fn returns. The ctx passed to fn carries the turn, so that a Do,
// Regenerate or Destroy of the same session with it (or with a context
// derived from it) runs inline at once, also when reached through other
// sessions' turns.
//
// If fn returns an error or panics, every change it made is rolled back;
// the error is returned as is and the panic goes on in the caller. When the
// outermost turn ends, its changes are written as Config.Durability says;
// if a value does not encode, or the write fails, they are rolled back and
// Do returns the error (an [*Error] naming the key and type of a value that
// does not encode).
//
// Do is [Engine.Begin], [Turn.Do] and [Turn.End] in one call, without the
// Turn. It returns an error matching [ErrNotFound] if id is malformed,
// unknown, expired or destroyed, [ErrLockTimeout] if the turn did not come
// within Config.LockTimeout (or ctx's error if ctx ended first),
// [ErrDeadlock] if waiting would close a cycle of turns held through
// contexts, [ErrReadOnly] if ctx carries a shared turn of the session (a
// View's), [ErrClosed] once Shutdown has begun, and the store's errors wrapped in an [*Error]
// (a failed write; with the file store, persist.ErrLockLost if the
// session's lock file was removed behind its back, after which the next Do
// locks and loads it afresh).
func (e *Engine) Do(ctx context.Context, id string, fn func(ctx context.Context, s *Session) error) error {
	st, t, l, err := e.acquire(ctx, id, false)
	if err != nil {
		return err
	}
	if t == nil { // ctx already carries the turn; its owner commits
		ctx, leave := l.enter(ctx)
		defer leave()
		return e.run(ctx, st, fn)
	}
	return e.runOutermost(st, t, fn)
}

// acquire is the one path by which Do, View and Begin get a turn of session
// id, exclusive or shared. If ctx already carries the turn, it returns the
// session's state, a nil actor turn and the turn that ctx carries (the
// lender), having entered it if ctx is a guest of it (see lender.enter);
// an exclusive turn asked for inside a shared one fails with ErrReadOnly.
// Otherwise it waits for the turn, checks that the session still lives and
// starts the turn, which the caller must end with [Engine.end] (shared:
// [Engine.endShared]) or finish.
func (e *Engine) acquire(ctx context.Context, id string, shared bool) (*sessionState, *actor.Turn[string, *sessionState], lender, error) {
	if !ValidID(id) {
		return nil, nil, lender{}, notFound(id)
	}
	st, l, err := e.inline(ctx, id)
	if err != nil {
		return nil, nil, lender{}, err
	}
	if st != nil {
		if !shared && l.shared() {
			l.leaveGuest()
			return nil, nil, lender{}, readOnly(id, "an exclusive turn inside a shared one")
		}
		return st, nil, l, nil
	}
	start := e.waitStart()
	for {
		var t *actor.Turn[string, *sessionState]
		var nested bool
		var err error
		if shared {
			t, nested, err = e.rt.AcquireShared(ctx, id)
		} else {
			t, nested, err = e.rt.Acquire(ctx, id)
		}
		if err != nil {
			return nil, nil, lender{}, e.waitFailed(ctx, start, e.acquireErr(id, err))
		}
		st := *t.State()
		if nested { // ctx carries a turn of id's actor, which moved on
			if st.gone || st.id != id {
				return nil, nil, lender{}, notFound(id)
			}
			if !shared && t.Shared() {
				return nil, nil, lender{}, readOnly(id, "an exclusive turn inside a shared one")
			}
			return st, nil, lender{t: t}, nil
		}
		if st.gone { // a tombstone, shared: leave it alone
			t.Retire()
			t.Release()
			return nil, nil, lender{}, notFound(id)
		}
		if shared {
			if e.startShared(st, t) {
				return st, t, lender{}, nil
			}
			// Expired: an exclusive turn deletes it (or finds that it
			// lives after all, and the shared turn is asked for again).
			t.Release()
			xst, xt, _, err := e.acquire(ctx, id, false)
			if err != nil {
				return nil, nil, lender{}, err
			}
			e.finish(xst, xt)
			continue
		}
		err = e.start(st, t)
		if err == nil {
			e.observeWait(ctx, st, t, start)
			return st, t, lender{}, nil
		}
		e.finish(st, t)
		if !errors.Is(err, errRelock) {
			return nil, nil, lender{}, err
		}
		// The session expired in memory, but its lock was lost: memory is
		// stale, so lock and load it again and judge the record.
	}
}

// errRelock is returned by start when the session's lock turned out lost:
// its actor is dropped, and the turn must be asked for again.
var errRelock = errors.New("engine: lock lost; lock again")

// inline returns the state of session id, and the turn it is in, if ctx
// carries a live turn on it: a Turn held across calls ([Engine.Begin],
// found first), or the turn of a Do or View. A guest of a held Turn (see
// [Turn]) enters it before it looks at its session, which the Turn's
// owner may be changing: the caller must let it go (lender.leaveGuest, or
// the function lender.enter returns).
func (e *Engine) inline(ctx context.Context, id string) (*sessionState, lender, error) {
	if h, ok := ctx.Value(heldKey{}).(*held); ok && h.e == e && !h.dead() {
		l := lender{h: h, guest: ctx.Value(insideKey{}) != h}
		if l.guest {
			if err := h.enterGuest(ctx); err != nil {
				return nil, lender{}, err
			}
		}
		if !h.dead() && h.st.id == id && !h.st.gone {
			return h.st, l, nil
		}
		// The lookup below may read the held turn's session too: the
		// guest stays in until it is done.
		defer l.leaveGuest()
	}
	if t := actor.Lookup(ctx, e.rt, func(st **sessionState) bool { return (*st).id == id && !(*st).gone }); t != nil {
		return *t.State(), lender{t: t}, nil
	}
	return nil, lender{}, nil
}

// lender is the turn that a context carries and that inline calls run in:
// an actor turn, or a Turn held across calls.
type lender struct {
	t     *actor.Turn[string, *sessionState]
	h     *held
	guest bool // ctx reached h from outside its fn calls: enter it first
}

// alive reports whether the turn has not ended.
func (l lender) alive() bool {
	if l.t != nil {
		return l.t.Alive()
	}
	return l.h != nil && !l.h.dead()
}

// shared reports whether the turn is shared (a View's).
func (l lender) shared() bool {
	if l.t != nil {
		return l.t.Shared()
	}
	return l.h != nil && l.h.shared
}

// leaveGuest lets the next guest in, after admit.
func (l lender) leaveGuest() {
	if l.guest {
		l.h.leave()
	}
}

// enter returns the context an inline fn runs with, and what to call when
// it returns: for a guest, its ctx marked as inside the held turn (so that
// calls nested in fn run inline at once), and the release of the turn.
func (l lender) enter(ctx context.Context) (context.Context, func()) {
	if !l.guest {
		return ctx, func() {}
	}
	return context.WithValue(ctx, insideKey{}, l.h), l.h.leave
}

// acquireErr turns a runtime error into the engine's.
func (e *Engine) acquireErr(id string, err error) error {
	switch {
	case errors.Is(err, actor.ErrClosed), errors.Is(err, ErrClosed):
		return ErrClosed
	case errors.Is(err, actor.ErrTimeout):
		return e.timedOut(id)
	case errors.Is(err, actor.ErrDeadlock):
		return e.deadlocked(id)
	case errors.Is(err, ErrNotFound), errors.As(err, new(*Error)):
		return err // activate named the session
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return opError("acquire", id, err)
	}
	return opError("activate", id, err)
}

// start opens an outermost turn t on st: it checks that the session is
// alive and marks it used. It returns errRelock if the session expired in
// memory but its lock was lost on the way.
func (e *Engine) start(st *sessionState, t *actor.Turn[string, *sessionState]) error {
	now := e.cfg.Now()
	t.Stamp(now) // the actor's idle clock: one clock read per turn, not two
	if st.lock != nil && !now.Before(st.deadline(&e.cfg)) {
		if !e.expire(st) {
			return errRelock
		}
		return notFound(st.id)
	}
	st.used = now
	return nil
}

// runOutermost runs fn in the outermost turn t and ends the turn.
func (e *Engine) runOutermost(st *sessionState, t *actor.Turn[string, *sessionState], fn func(context.Context, *Session) error) error {
	ended := false
	defer func() {
		if !ended { // fn panicked, and run rolled back: release; the panic goes on
			e.finish(st, t)
		}
	}()
	err := e.run(t, st, fn)
	err = e.end(st, t, err)
	ended = true
	return err
}

// run runs fn in a turn that is already held, rolling back its changes if
// it fails or panics.
func (e *Engine) run(ctx context.Context, st *sessionState, fn func(context.Context, *Session) error) (err error) {
	mark := len(st.journal)
	done := false // a rollback ran or began: a panicking one is not run again
	defer func() {
		if !done {
			done = true
			st.rollback(mark)
		}
	}()
	if err = fn(ctx, &st.sess); err != nil {
		done = true
		st.rollback(mark)
	} else if err = e.checkChanges(st, mark); err != nil {
		done = true
		st.rollback(mark) // the Do that stored the value reports it
		err = opError("save", st.id, err)
	}
	done = true
	return err
}

// end commits the outermost turn t (nil for a lazy turn) on st and releases
// it. err is the turn's own error, which wins over the commit's.
func (e *Engine) end(st *sessionState, t *actor.Turn[string, *sessionState], err error) error {
	if cerr := e.commit(st, t); cerr != nil && err == nil {
		err = cerr
	}
	e.observeTurn(st, err)
	e.finish(st, t)
	return err
}

// commit writes the changes of the outermost turn t (nil for a lazy turn)
// so far, per Durability, and forgets them: they can no longer be rolled
// back. If a value does not encode, or the write fails, the changes are
// rolled back instead. A turn that changed nothing writes only when the
// stored expiry fell behind (see expiry.go).
func (e *Engine) commit(st *sessionState, t *actor.Turn[string, *sessionState]) error {
	if err := st.err; err != nil {
		st.err = nil
		st.rollback(0)
		e.count.commitsFailed.Add(1)
		return err
	}
	changed := len(st.journal) > 0
	if st.lost { // nothing can be written any more; the actor is dropped
		st.rollback(0)
		if changed {
			e.count.commitsFailed.Add(1)
			return opError("save", st.id, persist.ErrLockLost)
		}
		return nil
	}
	if st.gone || st.lock == nil {
		st.truncate(0)
		return nil
	}
	switch {
	case st.stored && !changed && !st.dirty:
		if st.lastUse().After(st.refreshBy) {
			return e.refresh(st, t)
		}
		return nil
	case st.stored && e.cfg.Durability == OnPassivate && st.meta == st.savedMeta && !st.lastUse().After(st.refreshBy):
		// Values wait for passivation; a changed owner or limit is written
		// now (the default case): other processes and operators find
		// sessions by owner, and the stored expiry must follow the limits.
		// Every change was checked to encode by the Do that made it (run).
		st.dirty = st.dirty || changed
	default:
		if err := e.save(st, leaving(t), true); err != nil {
			st.rollback(0)
			e.count.commitsFailed.Add(1)
			return err
		}
	}
	if changed {
		e.count.commits.Add(1)
	}
	st.truncate(0)
	return nil
}

// leaving reports whether the session of turn t leaves memory when t
// ends (a hand-over was asked for): its write then stores the exact
// deadline, and passivation need not write again.
func leaving(t *actor.Turn[string, *sessionState]) bool {
	return t != nil && t.Retiring()
}

// save writes st's values to its lock. Nothing is written if a value does
// not encode. With exact, the stored expiry is the session's deadline;
// without (the session stays resident), it runs ahead of it by a slack (see
// expiry.go). With shed, a write that runs out of file descriptors
// passivates idle sessions and tries again (withFiles).
func (e *Engine) save(st *sessionState, exact, shed bool) error {
	err := e.saveTo(st, st.lock, exact, shed)
	if err != nil {
		// A write that finds its lock file (or the directory) gone: another
		// locker may be in. Nothing was written; drop the actor, so that the
		// next turn locks and loads again.
		if errors.Is(err, persist.ErrLockLost) || errors.Is(err, fs.ErrNotExist) {
			e.lost(st)
		}
		return opError("save", st.id, err)
	}
	return nil
}

// saveTo writes st's values to lock, as save does, but leaves judging a
// failure to the caller: lock may be another than st's (Regenerate's new
// ID).
func (e *Engine) saveTo(st *sessionState, lock persist.Lock, exact, shed bool) error {
	data, err := e.encodeData(st)
	if err != nil {
		return err
	}
	expires := st.deadline(&e.cfg)
	if !exact {
		expires = st.storedDeadline(&e.cfg)
	}
	rec := persist.Record{Created: st.created, Expires: expires, Owner: st.meta.owner, Data: data}
	write := func() error { return lock.Save(rec, e.cfg.Durability == OnCommitSync) }
	start, first := e.waitStart(), !st.stored
	if shed {
		err = e.withFiles(write)
	} else {
		err = write()
	}
	if e.obs != nil {
		e.observeCommit(st, start, len(data), err)
	}
	if err != nil {
		return err
	}
	if first && lock == st.lock {
		e.emitID(SessionCreated, st.id, st.meta.owner)
	}
	st.setExpires(rec.Expires, &e.cfg)
	st.savedMeta = st.meta
	st.dirty = false
	st.stored = true
	return nil
}

// lost marks st's lock as lost: st is dropped from memory when its turn
// ends, without a write, and its next turn locks and loads again.
func (e *Engine) lost(st *sessionState) {
	if !st.lost {
		st.lost = true
		e.count.locksLost.Add(1)
		e.observeLost()
	}
}

// finish ends the outermost turn t (nil for a lazy turn) on st and the
// turns taken inside it. Actors whose session is gone or moved to another ID
// get the tombstone and are retired. Everything is decided before the first
// release: from then on another goroutine may own st.
func (e *Engine) finish(st *sessionState, t *actor.Turn[string, *sessionState]) {
	st.ctx = nil
	extra := st.extra
	st.extra = nil
	if t != nil {
		e.settle(st, t)
	}
	for _, x := range extra {
		e.settle(st, x)
	}
	for _, x := range extra {
		x.Release()
	}
	if t != nil {
		t.Release()
	}
}

// settle gives t's actor the tombstone if its session is no longer st's.
func (e *Engine) settle(st *sessionState, t *actor.Turn[string, *sessionState]) {
	if st.gone || t.Key() != st.id {
		*t.State() = e.tomb
		t.Retire()
	} else if st.lost {
		t.Retire()
	}
}

// Turn is a turn held across more than one call, for adapters that keep a
// session's turn for a whole request (implicit locking). [Engine.Begin],
// [Engine.BeginView] or [Engine.BeginLazy] takes it and [Turn.End]
// releases it; in between, [Turn.Do] and [Turn.View] run functions in it,
// [Turn.Commit] writes what they changed, and [Turn.Context] carries it, so
// that Engine.Do, View, Regenerate, Destroy and DestroyOwner with that
// context (or one derived from it) run inline. A Turn belongs to one
// goroutine at a time.
//
// Other goroutines may hold contexts derived from the Turn's (a request
// context handed to an errgroup): their inline calls are guests, run one
// at a time, never while another guest's fn or a [Turn.Do] or
// [Turn.View] of the owner runs (a guest waits for that within
// Config.LockTimeout). While the owner runs fn, calls with the Turn's
// context count as made from inside that fn, on its goroutine, and run
// inline at once.
//
// Always call End, in a defer. As a safety net, a Turn that becomes
// unreachable without End is rolled back and released by a cleanup of the
// garbage collector (and logged), which wedges its session until a
// collection finds it, not forever. The net can fire only if nothing the
// turn itself holds refers back to the Turn: the turn holds the context
// passed to Begin or BeginLazy, so if that context (or a value in it)
// refers to the Turn, as when an adapter keeps the Turn in its request
// context, the Turn is never collected and its session stays wedged until
// the process ends. httpadapter keeps its Turns so and does not rely on
// the net: it ends the turn when the handler returns, also when it panics.
type Turn struct {
	e       *Engine
	h       *held
	ctx     context.Context
	depth   int             // Do and View calls of the owner in progress
	cleanup runtime.Cleanup // the safety net; End stops it
}

// held is what a Turn owns, apart from the Turn itself, so that the
// cleanup of an abandoned Turn can release it. It is also the Turn's
// context: its Value carries the held under heldKey.
type held struct {
	context.Context // the actor turn's, or for a lazy turn the caller's

	e        *Engine
	st       *sessionState
	t        *actor.Turn[string, *sessionState] // nil for a lazy or borrowed turn
	shared   bool                               // a View's turn (BeginView)
	borrowed bool                               // the caller's context already held the turn
	lender   lender                             // the turn a borrowed turn runs in
	ended    atomic.Bool

	// slot is taken by whoever runs fn in the turn: the owner (Turn.Do,
	// Turn.View, Commit, End) and each guest; capacity 1.
	slot   chan struct{}
	inside atomic.Bool // the owner runs fn: its context counts as inside
}

// heldKey carries a held Turn's held in its context.
type heldKey struct{}

// insideKey marks the context of fn run by a guest of a held turn: calls
// with it are nested in that fn and run inline at once.
type insideKey struct{}

// Value returns h for heldKey, h for insideKey while the owner runs fn,
// and defers to the parent context otherwise. Once the turn has ended it
// skips the actor turn (which End still holds while it commits): a call
// with the context must not find that turn and run inline in it.
func (h *held) Value(key any) any {
	switch key {
	case heldKey{}:
		return h
	case insideKey{}:
		if h.inside.Load() {
			return h
		}
	}
	if h.t != nil && h.ended.Load() {
		return h.t.Context.Value(key)
	}
	return h.Context.Value(key)
}

// dead reports whether the turn is over: ended, or borrowed from a turn
// that ended (the owner's fn returned, or its Turn was ended).
func (h *held) dead() bool {
	return h.ended.Load() || h.borrowed && !h.lender.alive()
}

// enterGuest waits until no fn runs in h, within ctx and LockTimeout, and
// until Shutdown begins (ErrClosed), as every wait for a turn does.
func (h *held) enterGuest(ctx context.Context) error {
	select {
	case h.slot <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(h.e.cfg.LockTimeout)
	defer timer.Stop()
	select {
	case h.slot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return opError("acquire", h.st.id, ctx.Err())
	case <-timer.C:
		return h.e.timedOut(h.st.id)
	case <-h.e.stop:
		return ErrClosed
	}
}

// enterOwner takes the slot for the owner, waiting for a guest's fn. With
// fn, the owner is about to run fn (Turn.Do, Turn.View): calls with the
// Turn's context then count as nested in it. Commit, End and ID run no fn:
// a call meanwhile comes from another goroutine, a guest that must wait.
func (h *held) enterOwner(fn bool) {
	h.slot <- struct{}{}
	h.inside.Store(fn)
}

// leaveOwner lets the guests in again.
func (h *held) leaveOwner() {
	h.inside.Store(false)
	<-h.slot
}

// leave lets the next one in, after enterGuest.
func (h *held) leave() { <-h.slot }

// Begin takes the turn of session id, waiting and failing as [Engine.Do]
// does. With a ctx that already carries the turn of id, the Turn borrows
// it: Do runs inline, and Commit and End do nothing (the turn's owner
// commits). A borrowed Turn lives no longer than the turn it borrowed:
// once that turn's fn has returned (or its Turn was ended), Do and Commit
// return [ErrTurnEnded].
func (e *Engine) Begin(ctx context.Context, id string) (*Turn, error) {
	return e.begin(ctx, id, false)
}

// BeginView is [Engine.Begin] for a shared turn, as [Engine.View] takes:
// the Turn runs [Turn.View] calls, together with other shared turns of the
// session; its [Turn.Do] returns ErrReadOnly, and End writes nothing but
// the refreshed expiry of a session that was only read.
func (e *Engine) BeginView(ctx context.Context, id string) (*Turn, error) {
	return e.begin(ctx, id, true)
}

func (e *Engine) begin(ctx context.Context, id string, shared bool) (*Turn, error) {
	if e.closed() {
		return nil, ErrClosed
	}
	st, t, l, err := e.acquire(ctx, id, shared)
	if err != nil {
		return nil, err
	}
	if t == nil {
		l.leaveGuest()
		return e.newTurn(&held{Context: ctx, e: e, st: st, borrowed: true, lender: l, shared: shared || l.shared()}, ctx), nil
	}
	h := &held{Context: t, e: e, st: st, t: t, shared: shared}
	return e.newTurn(h, h), nil
}

// BeginLazy returns a turn on no session yet: the session reads as empty,
// and its first Set creates a new session (taking its lock and its turn,
// which the Turn then holds); [Turn.Commit] or [Turn.End] writes it.
func (e *Engine) BeginLazy(ctx context.Context) (*Turn, error) {
	if e.closed() {
		return nil, ErrClosed
	}
	h := &held{Context: ctx, e: e, st: newSessionState(e, "", map[string]any{})}
	h.st.ctx = h
	return e.newTurn(h, h), nil
}

func (e *Engine) newTurn(h *held, ctx context.Context) *Turn {
	h.slot = make(chan struct{}, 1)
	t := &Turn{e: e, h: h, ctx: ctx}
	if !h.borrowed {
		t.cleanup = runtime.AddCleanup(t, abandon, h)
	}
	return t
}

// abandon ends the turn of a Turn that was dropped without End.
func abandon(h *held) {
	if h.ended.Swap(true) {
		return
	}
	h.e.cfg.Logger.Warn("engine: Turn dropped without End; changes rolled back", "session", redact(h.st.id))
	if h.shared {
		h.t.Release()
		return
	}
	h.st.rollback(0)
	h.e.finish(h.st, h.t)
}

// Context returns the context that carries the turn.
func (t *Turn) Context() context.Context { return t.ctx }

// Session returns the session the turn is on, valid until End. For a
// shared turn it is read-only, as in [Turn.View].
func (t *Turn) Session() *Session {
	if t.h.shared {
		return &Session{st: t.h.st, view: true}
	}
	return &t.h.st.sess
}

// ID returns the session's current ID: "" for a lazy turn whose session
// was not created, after Destroy (also one that a guest made, see [Turn]:
// outside fn, ID waits for a guest's fn in progress), and after End (for a
// borrowed turn: once the turn it borrowed ended), when the session
// belongs to other turns.
func (t *Turn) ID() string {
	if t.h.dead() {
		return ""
	}
	defer t.enter(false)()
	if t.h.dead() || t.h.st.gone {
		return ""
	}
	return t.h.st.id
}

// Shared reports whether the turn is shared (see [Engine.BeginView]).
func (t *Turn) Shared() bool { return t.h.shared }

// Do runs fn inline in the turn. If fn returns an error or panics, its
// changes are rolled back (and the panic goes on); the other changes of the
// turn stay, to be written by Commit or End. After End (for a borrowed
// turn: once the turn it borrowed ended) it returns [ErrTurnEnded]; in a
// shared turn, [ErrReadOnly].
func (t *Turn) Do(fn func(ctx context.Context, s *Session) error) error {
	h := t.h
	if h.dead() {
		return ErrTurnEnded
	}
	if h.shared {
		return readOnly(h.st.id, "Do in a shared turn")
	}
	defer t.enter(true)()
	return t.e.run(t.ctx, h.st, fn)
}

// View runs fn inline in the turn, as [Engine.View] would: fn sees the
// turn's changes so far, and a change fn makes is not applied and makes
// View return ErrReadOnly. After End (for a borrowed turn: once the turn
// it borrowed ended) it returns [ErrTurnEnded].
func (t *Turn) View(fn func(ctx context.Context, s *Session) error) error {
	if t.h.dead() {
		return ErrTurnEnded
	}
	defer t.enter(true)()
	return t.e.runView(t.ctx, t.h.st, fn)
}

// enter takes the turn's slot for the owner's outermost call, which runs
// fn if fn is set (see held.enterOwner), and returns what lets it go.
func (t *Turn) enter(fn bool) func() {
	h := t.h
	if h.borrowed {
		return func() {}
	}
	t.depth++
	if t.depth > 1 {
		return t.unnest
	}
	h.enterOwner(fn)
	return t.leave
}

func (t *Turn) unnest() { t.depth-- }

func (t *Turn) leave() {
	t.depth--
	t.h.leaveOwner()
}

// Commit makes the turn's changes so far durable, as the end of an
// outermost [Engine.Do] would: it checks that every value encodes, writes
// them as Config.Durability says (creating the session of a lazy turn whose
// first Set happened), and keeps the turn held. The changes it committed
// can no longer be rolled back. If a value does not encode or the write
// fails, the changes are rolled back and Commit returns the error; the turn
// stays held. A borrowed turn (see [Engine.Begin]) and a shared one commit
// nothing. After End (for a borrowed turn: once the turn it borrowed
// ended), Commit returns [ErrTurnEnded].
func (t *Turn) Commit() error {
	h := t.h
	if h.dead() {
		return ErrTurnEnded
	}
	if h.borrowed || h.shared {
		return nil
	}
	defer t.enter(false)()
	return t.e.commit(h.st, h.t)
}

// End commits the turn's changes, as Commit does, and releases the turn.
// If the commit fails the changes are rolled back and End returns the
// error; the turn is released either way. It waits for a guest's fn in
// progress. Calling End again does nothing.
func (t *Turn) End() error {
	h := t.h
	if h.borrowed {
		h.ended.Store(true)
		return nil
	}
	if t.depth == 0 {
		h.enterOwner(false)
		defer h.leaveOwner()
	}
	if h.ended.Swap(true) {
		return nil
	}
	t.cleanup.Stop()
	if h.shared {
		return t.e.endShared(h.st, h.t)
	}
	return t.e.end(h.st, h.t, nil)
}
