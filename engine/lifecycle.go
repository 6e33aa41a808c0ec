package engine

import (
	"context"
	"errors"
	"slices"

	"github.com/lockstep-go/lockstep/actor"
	"github.com/lockstep-go/lockstep/persist"
)

// Create starts a new session and returns its ID: 32 bytes from
// crypto/rand, base64url without padding. The session is in the store
// before Create returns.
func (e *Engine) Create(ctx context.Context) (string, error) {
	if e.closed() {
		return "", ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, e.cfg.LockTimeout, ErrLockTimeout)
	defer cancel()
	id := newID()
	lock, err := e.lock(ctx, id, nil)
	if err != nil {
		return "", e.lockErr(ctx, "create", id, err)
	}
	st := newSessionState(e, id, map[string]any{})
	st.created = e.cfg.Now()
	st.used = st.created
	st.lock = lock
	if err := e.save(st, false, true); err != nil {
		lock.Release()
		return "", err
	}
	if err := lock.Release(); err != nil {
		return "", opError("create", id, err)
	}
	return id, nil
}

// lockErr turns an error of [Engine.lock] under ctx, whose cause is
// ErrLockTimeout once LockTimeout has passed, into the engine's.
func (e *Engine) lockErr(ctx context.Context, op, id string, err error) error {
	switch {
	case errors.Is(err, ErrClosed):
		return ErrClosed
	case errors.Is(context.Cause(ctx), ErrLockTimeout):
		e.observeTimeout(ctx, e.cfg.LockTimeout)
		return e.timedOut(id)
	}
	return opError(op, id, err)
}

// Regenerate moves the session's data to a new ID and kills the old one,
// which then behaves as destroyed; it returns the new ID. Changes made
// before it in the same turn are written with the new ID, and it is not
// undone by a later error of the turn. With a ctx that carries the turn of
// id, it runs inline, and afterwards the turn's Session reports the new ID.
//
// The new ID is returned only once the old record is deleted under the
// old ID's lock. If that lock turns out lost (with the file store: the lock
// file was removed or replaced, so another process may serve the old ID),
// or the old record cannot be deleted, Regenerate deletes the new record
// and returns the error (matching persist.ErrLockLost for a lost lock): the
// new ID is never handed out, and the session is dropped from this
// process's memory.
func (e *Engine) Regenerate(ctx context.Context, id string) (string, error) {
	var newID string
	err := e.Do(ctx, id, func(ctx context.Context, s *Session) error {
		var err error
		newID, err = e.regenerate(ctx, s.st)
		return err
	})
	return newID, err
}

func (e *Engine) regenerate(ctx context.Context, st *sessionState) (string, error) {
	if st.lost || st.lock == nil { // a lost lock noticed earlier in this turn
		e.lost(st)
		return "", opError("regenerate", st.id, persist.ErrLockLost)
	}
	newID, fresh := newID(), !st.stored // fresh: a lazy session stored by this move
	t, lock, err := e.move(ctx, st, newID, true)
	if err != nil {
		return "", err
	}
	// The new record exists (a crash from here on leaves both, never
	// neither). The old one must be gone before the new ID is handed out:
	// Delete checks, under the old lock, that the lock is still ours.
	old := st.lock
	if err := old.Delete(); err != nil {
		st.lock = nil // Delete released it
		e.lost(st)
		if derr := lock.Delete(); derr != nil {
			e.cfg.Logger.Error("engine: delete the new record of a failed Regenerate", "session", redact(newID), "err", derr)
		}
		*t.State() = e.tomb
		t.Retire()
		t.Release()
		return "", opError("regenerate", st.id, err)
	}
	if fresh {
		e.emitID(SessionCreated, newID, st.meta.owner)
	} else {
		e.emit(SessionRegenerated, persist.Key(st.id), persist.Key(newID), st.meta.owner)
	}
	st.id, st.lock = newID, lock
	st.truncate(0)
	st.extra = append(st.extra, t)
	return newID, nil
}

// move gives st the fresh ID id: it takes id's store lock, writes st's
// values under it (if write, for Regenerate; a lazy session is written
// when its turn commits), and installs st as the state of id's actor,
// whose turn it returns. st keeps its ID and lock: the caller switches
// them. Errors are named after the operation: "regenerate" (or "save")
// with st's ID if write, else "create" with id.
func (e *Engine) move(ctx context.Context, st *sessionState, id string, write bool) (*actor.Turn[string, *sessionState], persist.Lock, error) {
	lctx, cancel := context.WithTimeoutCause(ctx, e.cfg.LockTimeout, ErrLockTimeout)
	defer cancel()
	lock, err := e.lock(lctx, id, func() {
		st.wanted.Store(true)
		e.rt.Retire(id)
	})
	if err != nil {
		if write {
			return nil, nil, e.lockErr(lctx, "regenerate", st.id, err)
		}
		return nil, nil, e.lockErr(lctx, "create", id, err)
	}
	if write { // Regenerate: the new record exists before the old one dies
		// A failure here is the new ID's: the session's own lock is not in
		// doubt, and the session stays (its next write checks its lock).
		if err := e.saveTo(st, lock, false, true); err != nil {
			lock.Release()
			return nil, nil, opError("save", st.id, err)
		}
	}
	t, err := e.rt.Install(ctx, id, st)
	if err != nil {
		lock.Delete()
		return nil, nil, e.acquireErr(id, err)
	}
	e.observeNew(ctx)
	return t, lock, nil
}

// materialize creates the session of a lazy turn, at its first Set, and
// reports whether it did. It takes the new ID's turn and lock; the record is
// written when the turn commits. An error is kept and returned then.
func (e *Engine) materialize(st *sessionState) bool {
	if st.err != nil {
		return false
	}
	id := newID()
	st.created = e.cfg.Now()
	st.used = st.created
	t, lock, err := e.move(st.ctx, st, id, false)
	if err != nil {
		st.err = err
		return false
	}
	st.id, st.lock = id, lock
	st.extra = append(st.extra, t)
	return true
}

// unmaterialize undoes materialize when the change that created the
// session is rolled back: the lazy turn is on no session again. A Destroy
// or Regenerate that failed inline before may have released the lock
// already (st.lock is nil, st.lost is set): only what is still held is
// let go, and the lost mark, which was about the abandoned ID, goes too.
func (e *Engine) unmaterialize(st *sessionState) {
	if st.lock != nil {
		if err := st.lock.Delete(); err != nil {
			e.cfg.Logger.Error("engine: undo session creation", "err", err)
		}
	}
	if i := slices.IndexFunc(st.extra, func(t *actor.Turn[string, *sessionState]) bool { return t.Key() == st.id }); i >= 0 {
		t := st.extra[i]
		st.extra = slices.Delete(st.extra, i, i+1)
		*t.State() = e.tomb
		t.Retire()
		t.Release()
	}
	st.id, st.lock, st.lost = "", nil, false
}

// Destroy deletes the session. Turns queued behind it get ErrNotFound.
// With a ctx that carries the turn of id, it runs inline; the rest of that
// turn sees an empty session whose changes are dropped.
//
// If the session's lock turns out lost (with the file store: its lock file
// was removed or replaced behind the engine's back), Destroy drops the
// session from memory, locks it again (another process holding it now is
// asked to hand it over) and deletes the record under that lock. If that
// fails too, Destroy returns the error and the session is no longer
// resident here.
func (e *Engine) Destroy(ctx context.Context, id string) error {
	return e.Do(ctx, id, func(ctx context.Context, s *Session) error {
		return e.destroy(ctx, s.st)
	})
}

func (e *Engine) destroy(ctx context.Context, st *sessionState) error {
	var err error
	if st.lock != nil {
		err = st.lock.Delete() // releases the lock, whatever it returns
		st.lock = nil
	}
	if st.lost || errors.Is(err, persist.ErrLockLost) {
		e.lost(st)
		err = e.deleteAgain(ctx, st.id)
	}
	if err != nil {
		e.lost(st) // the lock is released: drop the actor
		return opError("destroy", st.id, err)
	}
	st.gone = true
	st.truncate(0)
	st.values = map[string]any{}
	e.destroyed.add(persist.Key(st.id))
	if st.stored {
		e.emitID(SessionDestroyed, st.id, st.meta.owner)
	}
	return nil
}

// deleteAgain locks session id afresh and deletes its record, for a
// Destroy that found its lock lost.
func (e *Engine) deleteAgain(ctx context.Context, id string) error {
	lctx, cancel := context.WithTimeoutCause(ctx, e.cfg.LockTimeout, ErrLockTimeout)
	defer cancel()
	lock, err := e.lock(lctx, id, nil)
	if err != nil {
		if errors.Is(context.Cause(lctx), ErrLockTimeout) {
			e.observeTimeout(lctx, e.cfg.LockTimeout)
			return e.timedOut(id)
		}
		return err
	}
	return lock.Delete()
}
