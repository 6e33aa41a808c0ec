package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lockstep-go/lockstep/actor"
)

// View runs fn in a shared turn of session id: Views of one session run
// together, and a [Engine.Do] excludes them all. Once a Do waits for the
// session, or another process asks for it (a hand-over), new Views queue
// behind it, so that a stream of Views cannot starve it.
//
// fn may only read: a change (Set, Delete, Clear, Pop, SetOwner, the
// limits' setters) is not applied, and View returns an error matching
// [ErrReadOnly] (joined with fn's error, if fn returned one). The ctx
// passed to fn carries the shared turn: a View with it (or a context
// derived from it) runs inline; a Do, Regenerate, Destroy or DestroyOwner
// with it returns ErrReadOnly before changing anything (a shared turn is
// never upgraded: two upgrades would wait for each other). A View with a
// ctx that carries a Do's turn of the session runs inline, and sees that
// Do's changes so far.
//
// A View refreshes the session's expiry as a Do that only reads does. It
// returns the errors Do returns, and fn's error unchanged.
func (e *Engine) View(ctx context.Context, id string, fn func(ctx context.Context, s *Session) error) error {
	start := e.waitStart()
	st, t, l, err := e.acquire(ctx, id, true)
	if err != nil {
		return err
	}
	if t == nil {
		ctx, leave := l.enter(ctx)
		defer leave()
		return e.runView(ctx, st, fn)
	}
	var granted time.Time
	if e.obs != nil {
		granted = e.observeShared(t, start)
	}
	released := false
	defer func() {
		if !released { // fn panicked: let go; the panic goes on
			t.Release()
		}
	}()
	err = e.runView(t, st, fn)
	released = true
	if cerr := e.endShared(st, t); cerr != nil && err == nil {
		err = cerr
	}
	if e.obs != nil {
		e.observeSharedEnd(t, granted, err)
	}
	return err
}

// runView runs fn on a read-only Session of st, in a turn that is held.
func (e *Engine) runView(ctx context.Context, st *sessionState, fn func(context.Context, *Session) error) error {
	s := e.views.Get().(*Session)
	*s = Session{st: st, view: true}
	err := fn(ctx, s)
	if op := s.refused; op != "" {
		err = errors.Join(err, readOnly(st.id, op+" in a View"))
	}
	*s = Session{}
	e.views.Put(s)
	return err
}

// startShared opens a shared turn on st and marks the session used. It
// reports false if the session expired: a shared turn cannot delete it.
func (e *Engine) startShared(st *sessionState, t *actor.Turn[string, *sessionState]) bool {
	now := e.cfg.Now()
	t.Stamp(now)
	if st.lock != nil && !now.Before(st.deadline(&e.cfg)) {
		return false
	}
	st.markViewed(now)
	return true
}

// endShared ends the shared turn t on st, writing the session's record if
// its stored expiry fell behind (see Engine.refresh). Of the shared turns
// that end together, one does that and the others go on.
func (e *Engine) endShared(st *sessionState, t *actor.Turn[string, *sessionState]) error {
	defer t.Release()
	if st.viewed.Load() <= st.refreshByNs.Load() || !st.refreshMu.TryLock() {
		return nil // the stored expiry is recent enough, or another View refreshes it
	}
	defer st.refreshMu.Unlock()
	if st.gone || st.lost || st.lock == nil || !st.stored || !st.lastUse().After(st.refreshBy) {
		return nil
	}
	err := e.refresh(st, t)
	if st.lost {
		t.Retire()
	}
	return err
}

// ErrReadOnly is returned (wrapped, naming the session and the operation)
// by [Engine.View] when fn changed the session (the change is not
// applied), and by Do, Regenerate, Destroy, DestroyOwner, [Turn.Do] and
// [Engine.Begin] called with a context that carries a shared turn of the
// session (DestroyOwner: of any session), or on a shared [Turn].
var ErrReadOnly = errors.New("engine: read-only turn")

// ErrDeadlock is returned (wrapped, naming the session) when a call would
// wait for a session whose turn is held by a goroutine that waits,
// directly or through others, for a turn that the call's context holds: a
// cycle that no LockTimeout should have to break. It fails at once, in
// this process; every turn the context carries (nested turns included) and
// every holder of a shared turn count. A call whose context carries no
// turn cannot close a cycle the engine can see, and waits as before.
var ErrDeadlock = errors.New("engine: deadlock: the session's turn is held by a call that waits for a turn this context holds")

// readOnly returns ErrReadOnly naming the session and what was refused.
func readOnly(id, what string) error {
	return fmt.Errorf("%w: session %s: %s", ErrReadOnly, redact(id), what)
}

// deadlocked counts and logs a wait refused with ErrDeadlock, and returns
// its error.
func (e *Engine) deadlocked(id string) error {
	e.cfg.Logger.Warn("engine: deadlock: a turn waited for, through contexts, by its own holder", "session", redact(id))
	return fmt.Errorf("%w: session %s", ErrDeadlock, redact(id))
}

// sharedTurnIn reports whether ctx carries a live shared turn of e.
func (e *Engine) sharedTurnIn(ctx context.Context) bool {
	if h, ok := ctx.Value(heldKey{}).(*held); ok && h.e == e && !h.dead() && h.shared {
		return true
	}
	return actor.LookupShared(ctx, e.rt) != nil
}
