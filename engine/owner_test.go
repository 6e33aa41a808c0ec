package engine_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// setOwner sets the owner of session id in a turn of its own.
func setOwner(t testing.TB, e *engine.Engine, id, owner string) {
	t.Helper()
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.SetOwner(owner)
		return nil
	}))
}

// owner returns the owner of session id, read in a turn.
func owner(t testing.TB, e *engine.Engine, id string) string {
	t.Helper()
	var o string
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		o = s.Owner()
		return nil
	}))
	return o
}

// SetOwner is journaled like a value: a failing turn, or a failing nested
// turn, undoes it; the owner is not among the values.
func TestSetOwnerRollback(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	setOwner(t, e, id, "alice")

	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.SetOwner("mallory")
		assert.Equal(t, "mallory", s.Owner(), "inside the turn")
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	assert.Equal(t, "alice", owner(t, e, id), "after a failed turn")

	err = e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
		s.SetOwner("bob")
		err := e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.SetOwner("mallory")
			return errBoom
		})
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, "bob", s.Owner(), "after the failed nested turn")
		assert.Zero(t, s.Len(), "the owner is not a value")
		assert.Empty(t, s.Keys())
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "bob", owner(t, e, id))

	// A turn whose commit fails rolls the owner back too.
	err = e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.SetOwner("carol")
		s.Set("bad", func() {})
		return nil
	})
	require.Error(t, err)
	assert.Equal(t, "bob", owner(t, e, id), "after a failed commit")
}

// The owner is stored in Record.Owner (not in Data), survives passivation
// and a restart, and is written when the turn commits even under
// OnPassivate.
func TestOwnerStored(t *testing.T) {
	for name, open := range inspectors(t) {
		for _, d := range []engine.Durability{engine.OnCommit, engine.OnPassivate} {
			t.Run(name+"/"+d.String(), func(t *testing.T) {
				testOwnerStored(t, open(), d)
			})
		}
	}
}

func testOwnerStored(t *testing.T, store persist.Store, d engine.Durability) {
	cfg := engine.Config{Durability: d, PassivateAfter: time.Hour}
	e := newEngine(t, store, cfg)
	id := mustCreate(t, e)
	set(t, e, id, "n", 1)
	setOwner(t, e, id, "alice")
	rec, ok := stored(t, store, id)
	require.True(t, ok)
	assert.Equal(t, "alice", rec.Owner, "written at commit, resident")

	set(t, e, id, "n", 2) // a value alone waits for passivation under OnPassivate
	require.NoError(t, e.Close())

	e2 := newEngine(t, store, cfg)
	assert.Equal(t, "alice", owner(t, e2, id), "after a restart")
	assert.Equal(t, 2, get(t, e2, id, "n"))

	setOwner(t, e2, id, "")
	rec, _ = stored(t, store, id)
	assert.Empty(t, rec.Owner, "cleared")
}

// A lazy turn's SetOwner creates the session, as its first Set does.
func TestSetOwnerLazy(t *testing.T) {
	store := persist.NewMemory()
	e := newEngine(t, store, engine.Config{})
	turn, err := e.BeginLazy(context.Background())
	require.NoError(t, err)
	require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
		s.SetOwner("alice")
		return nil
	}))
	id := turn.ID()
	require.NotEmpty(t, id)
	require.NoError(t, turn.End())
	assert.Equal(t, "alice", owner(t, e, id))
}

// DestroyOwner destroys the owner's sessions, resident or not, and only
// theirs; a turn queued behind the revocation gets ErrNotFound.
func TestDestroyOwner(t *testing.T) {
	for name, open := range inspectors(t) {
		t.Run(name, func(t *testing.T) { testDestroyOwner(t, open()) })
	}
}

func testDestroyOwner(t *testing.T, store persist.Store) {
	other := newEngine(t, store, engine.Config{})
	e := newEngine(t, store, engine.Config{PassivateAfter: time.Hour})
	var alice []string
	for range 3 {
		id := mustCreate(t, e)
		setOwner(t, e, id, "alice")
		alice = append(alice, id)
	}
	bob := mustCreate(t, e)
	setOwner(t, e, bob, "bob")
	nobody := mustCreate(t, e)
	set(t, e, nobody, "n", 1)
	// One of alice's sessions was last used by another engine on the store,
	// and is not resident in e.
	passive := mustCreate(t, other)
	setOwner(t, other, passive, "alice")
	require.NoError(t, other.Close())
	alice = append(alice, passive)

	// A turn in progress on one session, and one queued behind it.
	release := hold(e, alice[0])
	queued := make(chan error, 1)
	waiting := make(chan struct{})
	go func() {
		close(waiting)
		queued <- increment(context.Background(), e, alice[0])
	}()
	<-waiting
	done := make(chan struct{})
	var n int
	var err error
	go func() {
		defer close(done)
		n, err = e.DestroyOwner(context.Background(), "alice")
	}()
	release()
	within(t, done, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	// The queued turn ran before the revocation or got ErrNotFound; either
	// way the session is gone now.
	if qerr := within(t, queued, 10*time.Second); qerr != nil {
		assert.ErrorIs(t, qerr, engine.ErrNotFound)
	}
	for _, id := range alice {
		assert.ErrorIs(t, increment(context.Background(), e, id), engine.ErrNotFound)
		_, ok := stored(t, store, id)
		assert.False(t, ok, "no record left")
	}
	assert.Equal(t, "bob", owner(t, e, bob))
	assert.Equal(t, 1, get(t, e, nobody, "n"))

	n, err = e.DestroyOwner(context.Background(), "alice")
	assert.NoError(t, err)
	assert.Zero(t, n, "nothing left to destroy")
}

// A resident session is destroyed in a turn of its own: the turn in
// progress finishes (and commits), and every turn queued behind the
// revocation gets ErrNotFound.
func TestDestroyOwnerQueuedTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := persist.NewMemory()
		e := newEngine(t, store, engine.Config{PassivateAfter: time.Hour})
		id := mustCreate(t, e)
		setOwner(t, e, id, "alice")

		holding, release := make(chan struct{}), make(chan struct{})
		inFlight := make(chan error, 1)
		go func() {
			inFlight <- e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				close(holding)
				<-release
				s.Set("n", 1)
				return nil
			})
		}()
		<-holding
		destroyed := make(chan int, 1)
		go func() {
			n, err := e.DestroyOwner(context.Background(), "alice")
			assert.NoError(t, err)
			destroyed <- n
		}()
		synctest.Wait() // DestroyOwner waits for the session's turn
		queued := make(chan error, 3)
		for range cap(queued) {
			go func() { queued <- increment(context.Background(), e, id) }()
		}
		synctest.Wait()
		close(release)
		assert.NoError(t, <-inFlight, "the turn in progress finished")
		assert.Equal(t, 1, <-destroyed)
		for range cap(queued) {
			assert.ErrorIs(t, <-queued, engine.ErrNotFound)
		}
		_, ok := stored(t, store, id)
		assert.False(t, ok, "nothing written back")
	})
}

// Called with the ctx of a turn on one of the owner's sessions,
// DestroyOwner destroys that session inline.
func TestDestroyOwnerInline(t *testing.T) {
	store := persist.NewMemory()
	e := newEngine(t, store, engine.Config{})
	id, other := mustCreate(t, e), mustCreate(t, e)
	setOwner(t, e, id, "alice")
	setOwner(t, e, other, "alice")
	err := e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
		n, err := e.DestroyOwner(ctx, "alice")
		assert.Equal(t, 2, n)
		s.Set("after", true) // dropped: the session is gone
		return err
	})
	require.NoError(t, err)
	for _, x := range []string{id, other} {
		assert.ErrorIs(t, increment(context.Background(), e, x), engine.ErrNotFound)
	}
}

// A session whose owner changed after it was listed is left alone:
// changed by another engine (DestroyOwner checks the record under the
// lock), or by this one, which made it resident meanwhile (DestroyOwner
// notices and goes through its turn).
func TestDestroyOwnerChecksOwner(t *testing.T) {
	for _, where := range []string{"other engine", "this engine"} {
		t.Run(where, func(t *testing.T) {
			store := &lockKeyHook{Memory: persist.NewMemory()}
			e := newEngine(t, store, engine.Config{})
			id := mustCreate(t, e)
			setOwner(t, e, id, "alice")
			require.NoError(t, e.Close()) // not resident: DestroyOwner goes through the store

			e2 := newEngine(t, store, engine.Config{PassivateAfter: time.Hour})
			store.before = func() {
				if where == "this engine" {
					setOwner(t, e2, id, "bob") // and resident in e2 from now on
					return
				}
				e3 := newEngine(t, store, engine.Config{})
				setOwner(t, e3, id, "bob")
				require.NoError(t, e3.Close())
			}
			n, err := e2.DestroyOwner(context.Background(), "alice")
			require.NoError(t, err)
			assert.Zero(t, n)
			assert.Equal(t, "bob", owner(t, e2, id))
		})
	}
}

// DestroyOwner needs a store that is a persist.Inspector, and an owner.
func TestDestroyOwnerErrors(t *testing.T) {
	e := newEngine(t, newRecordingStore(), engine.Config{})
	_, err := e.DestroyOwner(context.Background(), "alice")
	assert.ErrorIs(t, err, engine.ErrNoInspector)
	assert.ErrorIs(t, err, errors.ErrUnsupported)

	e2 := newEngine(t, persist.NewMemory(), engine.Config{})
	_, err = e2.DestroyOwner(context.Background(), "")
	assert.Error(t, err)
	require.NoError(t, e2.Close())
	_, err = e2.DestroyOwner(context.Background(), "alice")
	assert.ErrorIs(t, err, engine.ErrClosed)
}

// stored returns the record of session id as the store holds it, read
// without its lock.
func stored(t testing.TB, store persist.Store, id string) (persist.Record, bool) {
	t.Helper()
	rec, _, err := store.(persist.Inspector).Inspect(context.Background(), persist.Key(id))
	if errors.Is(err, persist.ErrNotFound) {
		return persist.Record{}, false
	}
	require.NoError(t, err)
	return rec, true
}

// inspectors returns the stores DestroyOwner works on, by name: a new one
// of each kind per call.
func inspectors(t *testing.T) map[string]func() persist.Store {
	return map[string]func() persist.Store{
		"memory": func() persist.Store { return persist.NewMemory() },
		"dir": func() persist.Store {
			d, err := filestore.Open(t.TempDir(), filestore.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { d.Close() })
			return d
		},
	}
}

// lockKeyHook is a store whose next LockKey calls before first.
type lockKeyHook struct {
	*persist.Memory
	before func()
}

func (h *lockKeyHook) LockKey(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	if f := h.before; f != nil {
		h.before = nil
		f()
	}
	return h.Memory.LockKey(ctx, key, wanted)
}

// A DestroyOwner whose ctx ends just after it locked a session it found in
// the store leaves no lock held: it destroys the session under that lock
// (or would release it), and stops there.
func TestDestroyOwnerCtxEndsAfterLock(t *testing.T) {
	for name, open := range inspectors(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := &cancelAfterLockKey{inspectorStore: open().(inspectorStore), cancel: cancel}
			other := newEngine(t, store, engine.Config{})
			id := mustCreate(t, other)
			setOwner(t, other, id, "alice")
			second := mustCreate(t, other)
			setOwner(t, other, second, "alice")
			require.NoError(t, other.Close())

			e := newEngine(t, store, engine.Config{})
			n, err := e.DestroyOwner(ctx, "alice")
			assert.Equal(t, 1, n, "the session locked before ctx ended")
			assert.ErrorIs(t, err, context.Canceled, "then it stops")
			left := 0
			for _, id := range []string{id, second} {
				_, info, err := store.Inspect(context.Background(), persist.Key(id))
				if errors.Is(err, persist.ErrNotFound) {
					continue
				}
				require.NoError(t, err)
				left++
				assert.False(t, info.Locked, "no lock left held")
			}
			assert.Equal(t, 1, left, "one session left alone")
		})
	}
}

type inspectorStore interface {
	persist.Store
	persist.Inspector
}

// cancelAfterLockKey is a store whose LockKey calls cancel once it has
// taken the lock.
type cancelAfterLockKey struct {
	inspectorStore
	cancel func()
}

func (s *cancelAfterLockKey) LockKey(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	l, err := s.inspectorStore.LockKey(ctx, key, wanted)
	if err == nil {
		s.cancel()
	}
	return l, err
}
