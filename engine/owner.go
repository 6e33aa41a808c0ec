package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// ErrNoInspector is returned by [Engine.DestroyOwner] when the engine's
// store cannot list its sessions by owner: it does not implement
// persist.Inspector. It also matches errors.ErrUnsupported.
var ErrNoInspector = fmt.Errorf("engine: the store cannot list sessions by owner (it is not a persist.Inspector): %w", errors.ErrUnsupported)

// SetOwner records who the session belongs to, usually the user ID of the
// login it carries; "" for nobody. [Engine.DestroyOwner] finds and destroys
// every session of an owner ("log out everywhere", "password changed").
//
// The owner is stored beside the values, not among them: the store keeps
// it where it can find a user's sessions without decoding them, and
// [Session.Keys] does not list it. Setting it is journaled like a value (a
// failed turn undoes it); a changed owner is written when the turn commits,
// whatever Config.Durability, so that other processes and operators find
// the session at once. In a lazy turn SetOwner creates the session, as the
// first Set does. It survives passivation, restarts and Regenerate; after
// Destroy in the same turn it does nothing.
func (s *Session) SetOwner(owner string) {
	m := s.st.meta
	m.owner = owner
	s.setMeta("SetOwner", m)
}

// Owner returns who the session belongs to (see [Session.SetOwner]), ""
// for nobody.
func (s *Session) Owner() string { return s.st.meta.owner }

// DestroyOwner destroys every stored session whose owner (see
// [Session.SetOwner]) is owner, in every process that shares the store, and
// returns how many it destroyed.
//
// A session resident in this engine is destroyed in a turn of its own,
// exactly as [Engine.Destroy] does: a turn in progress finishes first, and
// every turn queued behind it gets ErrNotFound. A session held by another
// process is taken from it through the store's hand-over (the holder
// finishes its turn in progress, saves and lets go), checked to still
// belong to owner, and deleted. Either way, once DestroyOwner has returned,
// no turn on those sessions, in any process, is served: they get
// ErrNotFound, and no request in flight can write them back.
//
// DestroyOwner sees the sessions whose owner was committed when it lists
// them: a session that gets owner from a turn that commits later (a login
// racing with the revocation) is not destroyed. Called during a turn on
// one of the owner's sessions, pass the turn's ctx: that session is then
// destroyed inline (the rest of the turn sees it empty), as with Destroy.
// With another ctx, DestroyOwner would wait for the caller's own turn and
// fail that session with ErrLockTimeout.
//
// Each session is locked within Config.LockTimeout. DestroyOwner goes on
// past a session it cannot destroy and returns the errors it met, joined,
// with the count of those it did destroy. It stops early when ctx ends or
// the engine shuts down. It returns an error matching [ErrNoInspector] if
// the store cannot list sessions (persist.Memory, the file store and the
// Redis store can), [ErrClosed] once Shutdown has begun, [ErrReadOnly]
// (before changing anything) if ctx carries a shared turn (a View's), and
// an error for an empty owner.
func (e *Engine) DestroyOwner(ctx context.Context, owner string) (int, error) {
	if e.closed() {
		return 0, ErrClosed
	}
	if owner == "" {
		return 0, errors.New("engine: DestroyOwner: empty owner (it would destroy every session without one)")
	}
	if e.sharedTurnIn(ctx) {
		return 0, fmt.Errorf("%w: DestroyOwner in a shared turn", ErrReadOnly)
	}
	ins, ok := e.store.(persist.Inspector)
	if !ok {
		return 0, ErrNoInspector
	}
	var keys []string
	err := ins.Sessions(ctx, owner, func(info persist.Info) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("engine: DestroyOwner: list sessions: %w", err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	resident := e.residentKeys()
	n := 0
	var errs []error
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		var destroyed bool
		if id, ok := resident[key]; ok {
			destroyed, err = e.destroyOwnedID(ctx, id, owner)
		} else {
			destroyed, err = e.destroyOwnedKey(ctx, ins, key, owner)
		}
		if destroyed {
			n++
		}
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				break
			}
		}
	}
	return n, errors.Join(errs...)
}

// residentKeys maps the store keys of the sessions that have an actor in
// this engine to their IDs.
func (e *Engine) residentKeys() map[string]string {
	m := make(map[string]string)
	for id := range e.rt.Keys() {
		m[persist.Key(id)] = id
	}
	return m
}

// destroyOwnedID destroys session id in a turn, if it belongs to owner.
func (e *Engine) destroyOwnedID(ctx context.Context, id, owner string) (bool, error) {
	destroyed := false
	err := e.Do(ctx, id, func(ctx context.Context, s *Session) error {
		if s.st.meta.owner != owner {
			return nil
		}
		if err := e.destroy(ctx, s.st); err != nil {
			return err
		}
		destroyed = true
		return nil
	})
	if errors.Is(err, ErrNotFound) { // gone already
		return false, nil
	}
	return destroyed, err
}

// Bounds of the wait for the lock of a session known only by its key:
// first and longest wait before DestroyOwner looks again whether the
// session became resident in this engine meanwhile (a store that does not
// hand over to its own process, such as Memory, would otherwise keep it
// until passivation).
const (
	keyLockFirstWait = 10 * time.Millisecond
	keyLockMaxWait   = time.Second
)

// destroyOwnedKey destroys the session stored under key, which had no
// actor in this engine, if it belongs to owner.
func (e *Engine) destroyOwnedKey(ctx context.Context, ins persist.Inspector, key, owner string) (bool, error) {
	fail := func(err error) (bool, error) {
		return false, fmt.Errorf("engine: DestroyOwner: session key %s: %w", key, err)
	}
	deadline := time.Now().Add(e.cfg.LockTimeout)
	wait := keyLockFirstWait
	var lock persist.Lock
	for lock == nil {
		if e.closed() {
			return false, ErrClosed
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return fail(ErrLockTimeout)
		}
		var err error
		lock, err = e.lockKey(ctx, ins, key, min(wait, remaining))
		switch {
		case err == nil:
			// Locked, even if ctx ended just after: the lock is ours and
			// must be used or released, never dropped. The deletion below
			// does not wait for anything.
		case errors.Is(err, ErrClosed):
			return false, ErrClosed
		case ctx.Err() != nil:
			return fail(ctx.Err())
		case errors.Is(err, context.DeadlineExceeded):
			if id, ok := e.residentKeys()[key]; ok { // activated here meanwhile
				return e.destroyOwnedID(ctx, id, owner)
			}
			wait = min(4*wait, keyLockMaxWait)
		case err != nil:
			return fail(err)
		}
	}
	// A record gone meanwhile (or corrupt and moved aside), or that changed
	// hands, is left alone.
	destroyed, err := persist.DeleteIf(lock, func(rec persist.Record) bool { return rec.Owner == owner })
	if err != nil && !errors.Is(err, persist.ErrNotFound) {
		return fail(err)
	}
	if destroyed {
		e.destroyed.add(key)
		e.emit(SessionDestroyed, key, "", owner)
	}
	return destroyed, nil
}

// lockKey takes the store lock of key, giving up after wait with
// context.DeadlineExceeded and, once Shutdown begins, with ErrClosed.
func (e *Engine) lockKey(ctx context.Context, ins persist.Inspector, key string, wait time.Duration) (persist.Lock, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ctx, cancelClosing := context.WithCancelCause(ctx)
	defer cancelClosing(nil)
	stop := context.AfterFunc(e.closing, func() { cancelClosing(ErrClosed) })
	defer stop()
	l, err := ins.LockKey(ctx, key, nil)
	if err != nil && errors.Is(context.Cause(ctx), ErrClosed) {
		return nil, ErrClosed
	}
	return l, err
}
