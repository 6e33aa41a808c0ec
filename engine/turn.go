package engine

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/lockstep-go/lockstep/actor"
)

// Turn is a turn held across more than one call, for adapters that keep a
// session's turn for a whole request (implicit locking). Begin takes it and
// End releases it; in between, Do runs functions in it and Context carries
// it, so that Engine.Do, Regenerate and Destroy with that context run
// inline. A Turn belongs to one goroutine at a time.
//
// A Turn that becomes unreachable without End is rolled back and released
// by the garbage collector's cleanup (and logged), so a forgotten End does
// not wedge the session forever; it wedges it until the next collection.
type Turn struct {
	e   *Engine
	h   *held
	ctx context.Context
}

// held is what a Turn owns, apart from the Turn itself, so that the
// cleanup of an abandoned Turn can release it.
type held struct {
	e        *Engine
	st       *state
	t        *actor.Turn[string, *state] // nil for a lazy or borrowed turn
	borrowed bool                        // the caller's context already held the turn
	ended    atomic.Bool
}

var errTurnEnded = errors.New("engine: the turn has ended")

// lazyKey carries the held of a lazy turn in its context.
type lazyKey struct{}

// Begin takes the turn of session id, waiting and failing as Do does. With
// id "", it returns a lazy turn on no session: the session reads as empty
// and its first Set creates a new session, whose turn the Turn then holds.
// With a ctx that already carries the turn of id, the Turn borrows it: Do
// runs inline and End does nothing.
func (e *Engine) Begin(ctx context.Context, id string) (*Turn, error) {
	if e.closed() {
		return nil, ErrClosed
	}
	if id == "" {
		h := &held{e: e, st: newState(e, "", map[string]any{})}
		ctx = context.WithValue(ctx, lazyKey{}, h)
		h.st.ctx = ctx
		return e.newTurn(h, ctx), nil
	}
	if !ValidID(id) {
		return nil, notFound(id)
	}
	if st := e.inline(ctx, id); st != nil {
		return e.newTurn(&held{e: e, st: st, borrowed: true}, ctx), nil
	}
	t, nested, err := e.rt.Acquire(ctx, id)
	if err != nil {
		return nil, e.acquireErr(id, err)
	}
	st := *t.State()
	if nested {
		if st.gone || st.id != id {
			return nil, notFound(id)
		}
		return e.newTurn(&held{e: e, st: st, borrowed: true}, ctx), nil
	}
	if st.gone {
		t.Retire()
		t.Release()
		return nil, notFound(id)
	}
	if err := e.start(st); err != nil {
		e.finish(st, t)
		return nil, err
	}
	return e.newTurn(&held{e: e, st: st, t: t}, t), nil
}

func (e *Engine) newTurn(h *held, ctx context.Context) *Turn {
	t := &Turn{e: e, h: h, ctx: ctx}
	if !h.borrowed {
		runtime.AddCleanup(t, abandon, h)
	}
	return t
}

// abandon ends the turn of a Turn that was dropped without End.
func abandon(h *held) {
	if h.ended.Swap(true) {
		return
	}
	h.e.cfg.Logger.Warn("engine: Turn dropped without End; changes rolled back", "session", redact(h.st.id))
	h.st.rollback(0)
	h.e.finish(h.st, h.t)
}

// Context returns the context that carries the turn.
func (t *Turn) Context() context.Context { return t.ctx }

// Session returns the session the turn is on, valid until End.
func (t *Turn) Session() *Session { return &t.h.st.sess }

// ID returns the session's current ID: "" for a lazy turn whose session
// was not created, and after Destroy.
func (t *Turn) ID() string {
	if t.h.st.gone {
		return ""
	}
	return t.h.st.id
}

// Do runs fn inline in the turn. If fn returns an error or panics, its
// changes are rolled back (and the panic goes on); the other changes of the
// turn stay, to be written by End.
func (t *Turn) Do(fn func(ctx context.Context, s *Session) error) error {
	if t.h.ended.Load() {
		return errTurnEnded
	}
	return t.e.runNested(t.ctx, t.h.st, fn)
}

// End writes the turn's changes as Config.Durability says and releases the
// turn. If the write fails the changes are rolled back and End returns the
// error; the turn is released either way. Calling End again does nothing.
func (t *Turn) End() error {
	h := t.h
	if h.ended.Swap(true) || h.borrowed {
		return nil
	}
	err := t.e.commit(h.st)
	t.e.finish(h.st, h.t)
	return err
}

// materialize creates the session of a lazy turn, at its first Set, and
// reports whether it did. It takes the new ID's turn and lock; the record is
// written when the turn ends. An error is kept and returned then.
func (e *Engine) materialize(st *state) bool {
	if st.err != nil {
		return false
	}
	id := newID()
	st.created = e.cfg.Now()
	st.used = st.created
	a, err := e.adopt(st.ctx, st, id)
	if err != nil {
		st.err = err
		return false
	}
	st.id, st.lock = id, a.lockOf
	st.extra = append(st.extra, a.turn)
	return true
}

// unmaterialize undoes materialize when the change that created the
// session is rolled back: the lazy turn is on no session again.
func (e *Engine) unmaterialize(st *state) {
	i := slices.IndexFunc(st.extra, func(t *actor.Turn[string, *state]) bool { return t.Key() == st.id })
	t := st.extra[i]
	st.extra = slices.Delete(st.extra, i, i+1)
	if err := st.lock.Delete(); err != nil {
		e.cfg.Logger.Error("engine: undo session creation", "err", err)
	}
	st.id, st.lock = "", nil
	*t.State() = e.tomb
	t.Retire()
	t.Release()
}
