package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// failDeleteStore is a Memory store whose locks fail to delete: Delete
// releases the lock and returns errBoom, the record stays.
type failDeleteStore struct{ *persist.Memory }

func (s failDeleteStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	l, err := s.Memory.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	return failDeleteLock{l}, nil
}

type failDeleteLock struct{ persist.Lock }

func (l failDeleteLock) Delete() error {
	if err := l.Release(); err != nil {
		return err
	}
	return errBoom
}

// A lazy turn whose first Set created the session, then an inline Destroy
// or Regenerate that fails and makes the fn fail: the creation is undone
// (no panic), the turn is on no session again and serves on, and the ID
// that was abandoned is not served.
func TestLazyCreationThenFailedInlineDestroy(t *testing.T) {
	for name, kill := range map[string]func(context.Context, *engine.Engine, string) error{
		"destroy": func(ctx context.Context, e *engine.Engine, id string) error { return e.Destroy(ctx, id) },
		"regenerate": func(ctx context.Context, e *engine.Engine, id string) error {
			_, err := e.Regenerate(ctx, id)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, failDeleteStore{persist.NewMemory()}, engine.Config{})
			turn, err := e.BeginLazy(context.Background())
			require.NoError(t, err)
			var abandoned string
			err = turn.Do(func(ctx context.Context, s *engine.Session) error {
				s.Set("a", 1)
				abandoned = s.ID()
				return kill(ctx, e, abandoned)
			})
			require.ErrorIs(t, err, errBoom)
			require.NotEmpty(t, abandoned)
			assert.Empty(t, turn.ID(), "the creation was undone")
			assert.Zero(t, turn.Session().Len())

			require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
				s.Set("b", 2)
				return nil
			}))
			id := turn.ID()
			require.NoError(t, turn.End())
			require.NotEmpty(t, id)
			assert.NotEqual(t, abandoned, id)
			assert.Equal(t, 2, get(t, e, id, "b"), "a second creation in the turn commits")
			assert.ErrorIs(t, increment(context.Background(), e, abandoned), engine.ErrNotFound)
		})
	}
}

// A Turn that borrowed the turn its ctx carried (Begin inside a Do, or
// inside another Turn) dies with that turn: afterwards Do and Commit
// return ErrTurnEnded and run nothing on the session, which another turn
// may own by then.
func TestBorrowedTurnDiesWithItsLender(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	check := func(t *testing.T, borrowed *engine.Turn) {
		t.Helper()
		ran := false
		err := borrowed.Do(func(_ context.Context, s *engine.Session) error {
			ran = true
			s.Set("late", 1)
			return nil
		})
		assert.ErrorIs(t, err, engine.ErrTurnEnded)
		assert.False(t, ran, "fn ran outside the turn")
		assert.ErrorIs(t, borrowed.Commit(), engine.ErrTurnEnded)
		assert.NoError(t, borrowed.End())
	}

	t.Run("do", func(t *testing.T) {
		var borrowed *engine.Turn
		require.NoError(t, e.Do(context.Background(), id, func(ctx context.Context, _ *engine.Session) error {
			var err error
			borrowed, err = e.Begin(ctx, id)
			if err != nil {
				return err
			}
			return borrowed.Do(func(context.Context, *engine.Session) error { return nil })
		}))
		check(t, borrowed)
		assert.Nil(t, get(t, e, id, "late"))
	})
	t.Run("turn", func(t *testing.T) {
		owner, err := e.Begin(context.Background(), id)
		require.NoError(t, err)
		borrowed, err := e.Begin(owner.Context(), id)
		require.NoError(t, err)
		require.NoError(t, borrowed.Do(func(context.Context, *engine.Session) error { return nil }))
		require.NoError(t, owner.End())
		check(t, borrowed)
		assert.Nil(t, get(t, e, id, "late"))
	})
	t.Run("lazy", func(t *testing.T) {
		owner, err := e.BeginLazy(context.Background())
		require.NoError(t, err)
		var borrowed *engine.Turn
		require.NoError(t, owner.Do(func(ctx context.Context, s *engine.Session) error {
			s.Set("a", 1)
			borrowed, err = e.Begin(ctx, s.ID())
			return err
		}))
		created := owner.ID()
		require.NoError(t, owner.End())
		check(t, borrowed)
		assert.Nil(t, get(t, e, created, "late"))
	})
}

// newIDFailStore is a Memory store that fails, for every ID but keep,
// Lock with failLock or, on the lock it returns, Save with failSave.
type newIDFailStore struct {
	*persist.Memory
	keep               string
	failLock, failSave error
}

func (s *newIDFailStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	if id != s.keep && s.failLock != nil {
		return nil, s.failLock
	}
	l, err := s.Memory.Lock(ctx, id, wanted)
	if err != nil || id == s.keep || s.failSave == nil {
		return l, err
	}
	return failSaveLock{l, s.failSave}, nil
}

type failSaveLock struct {
	persist.Lock
	err error
}

func (l failSaveLock) Save(persist.Record, bool) error { return l.err }

// A Regenerate that fails on the new ID (its lock, or the write of the new
// record, even with a lost lock) names the operation "regenerate" (or
// "save") and leaves the session alone: resident, its lock not counted as
// lost, its values and ID served on.
func TestRegenerateNewIDFailure(t *testing.T) {
	for name, arm := range map[string]func(*newIDFailStore){
		"lock": func(s *newIDFailStore) { s.failLock = errBoom },
		"save": func(s *newIDFailStore) { s.failSave = persist.ErrLockLost },
	} {
		t.Run(name, func(t *testing.T) {
			store := &newIDFailStore{Memory: persist.NewMemory()}
			e := newEngine(t, store, engine.Config{})
			id := mustCreate(t, e)
			set(t, e, id, "k", 1)
			store.keep = id
			arm(store) // no turn runs: nothing reads the store's fields now
			activations := e.Stats().Activations

			newID, err := e.Regenerate(context.Background(), id)
			require.Error(t, err)
			assert.Empty(t, newID)
			ee, ok := errors.AsType[*engine.Error](err)
			require.True(t, ok, "%v", err)
			if name == "lock" {
				assert.ErrorIs(t, err, errBoom)
				assert.Equal(t, "regenerate", ee.Op)
			} else {
				assert.ErrorIs(t, err, persist.ErrLockLost)
				assert.Equal(t, "save", ee.Op)
			}
			st := e.Stats()
			assert.Zero(t, st.LocksLost, "the session's own lock is not in doubt")
			assert.Equal(t, 1, st.Active, "the session stays resident")
			assert.Equal(t, 1, get(t, e, id, "k"))
			assert.Equal(t, activations, e.Stats().Activations, "served from memory, not loaded again")
		})
	}
}
