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
	if err := e.save(st); err != nil {
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
		return lockTimeout(id)
	}
	return opError(op, id, err)
}

// Regenerate moves the session's data to a new ID and kills the old one,
// which then behaves as destroyed; it returns the new ID. Changes made
// before it in the same turn are written with the new ID, and it is not
// undone by a later error of the turn. With a ctx that carries the turn of
// id, it runs inline, and afterwards the turn's Session reports the new ID.
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
	newID := newID()
	t, lock, err := e.move(ctx, st, newID, true)
	if err != nil {
		return "", err
	}
	old := st.lock
	st.id, st.lock = newID, lock
	st.truncate(0)
	st.extra = append(st.extra, t)
	if err := old.Delete(); err != nil {
		// The new record is in place; the old one will expire or be swept.
		e.cfg.Logger.Error("engine: delete regenerated session", "err", err)
	}
	return newID, nil
}

// move gives st the fresh ID id: it takes id's store lock, writes st's
// values under it (if write; a lazy session is written when its turn
// commits), and installs st as the state of id's actor, whose turn it
// returns. st keeps its ID and lock: the caller switches them.
func (e *Engine) move(ctx context.Context, st *sessionState, id string, write bool) (*actor.Turn[string, *sessionState], persist.Lock, error) {
	lctx, cancel := context.WithTimeoutCause(ctx, e.cfg.LockTimeout, ErrLockTimeout)
	defer cancel()
	lock, err := e.lock(lctx, id, func() { e.rt.Retire(id) })
	if err != nil {
		return nil, nil, e.lockErr(lctx, "create", id, err)
	}
	if write { // Regenerate: the new record exists before the old one dies
		prev := st.lock
		st.lock = lock
		err := e.save(st)
		st.lock = prev
		if err != nil {
			lock.Release()
			return nil, nil, err
		}
	}
	t, err := e.rt.Install(ctx, id, st)
	if err != nil {
		lock.Delete()
		return nil, nil, e.acquireErr(id, err)
	}
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
// session is rolled back: the lazy turn is on no session again.
func (e *Engine) unmaterialize(st *sessionState) {
	i := slices.IndexFunc(st.extra, func(t *actor.Turn[string, *sessionState]) bool { return t.Key() == st.id })
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

// Destroy deletes the session. Turns queued behind it get ErrNotFound.
// With a ctx that carries the turn of id, it runs inline; the rest of that
// turn sees an empty session whose changes are dropped.
func (e *Engine) Destroy(ctx context.Context, id string) error {
	return e.Do(ctx, id, func(ctx context.Context, s *Session) error {
		return e.destroy(s.st)
	})
}

func (e *Engine) destroy(st *sessionState) error {
	if st.lock != nil {
		if err := st.lock.Delete(); err != nil {
			return opError("destroy", st.id, err)
		}
	}
	st.lock = nil
	st.gone = true
	st.truncate(0)
	st.values = map[string]any{}
	return nil
}

// expire deletes st's record because it expired.
func (e *Engine) expire(st *sessionState) {
	if err := st.lock.Delete(); err != nil {
		e.cfg.Logger.Error("engine: delete expired session", "session", redact(st.id), "err", err)
	}
	st.lock = nil
	st.gone = true
}
