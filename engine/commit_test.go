package engine_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
)

// Turn.Commit writes the changes so far and keeps the turn: other turns
// still wait, later changes roll back to the commit, End writes the rest.
func TestTurnCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRecordingStore()
		e := newEngine(t, store, engine.Config{})
		id := mustCreate(t, e)
		turn, err := e.Begin(context.Background(), id)
		require.NoError(t, err)

		waiter := make(chan any, 1)
		go func() { waiter <- get(t, e, id, "a") }()

		require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
			s.Set("a", 1)
			return nil
		}))
		saves := store.count(store.saves, id)
		require.NoError(t, turn.Commit())
		assert.Equal(t, saves+1, store.count(store.saves, id), "Commit wrote the record")
		require.NoError(t, turn.Commit())
		assert.Equal(t, saves+1, store.count(store.saves, id), "a Commit with no change writes nothing")

		err = turn.Do(func(_ context.Context, s *engine.Session) error {
			s.Set("a", 2)
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		synctest.Wait()
		select {
		case v := <-waiter:
			t.Fatalf("a Do ran while the Turn was held after Commit (saw %v)", v)
		default:
		}
		require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
			v, _ := s.Get("a")
			assert.Equal(t, 1, v, "the failed Do rolled back to the committed value")
			s.Set("b", 1)
			return nil
		}))
		require.NoError(t, turn.End())
		assert.Equal(t, 1, <-waiter)
		assert.Equal(t, 1, get(t, e, id, "b"), "End wrote the changes after Commit")
		assert.ErrorIs(t, turn.Commit(), engine.ErrTurnEnded)
		assert.ErrorIs(t, turn.Do(func(context.Context, *engine.Session) error { return nil }), engine.ErrTurnEnded)
	})
}

// Commit of a lazy turn creates its session in the store while the turn
// stays held.
func TestLazyTurnCommit(t *testing.T) {
	store := newRecordingStore()
	e := newEngine(t, store, engine.Config{})
	turn, err := e.BeginLazy(context.Background())
	require.NoError(t, err)
	require.NoError(t, turn.Commit(), "nothing to commit yet")
	assert.Empty(t, turn.ID())

	require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
		s.Set("csrf", "token")
		return nil
	}))
	id := turn.ID()
	require.True(t, engine.ValidID(id))
	assert.Equal(t, 0, store.count(store.saves, id), "not written before Commit")
	require.NoError(t, turn.Commit())
	assert.Equal(t, 1, store.count(store.saves, id), "Commit wrote the new session")
	require.NoError(t, turn.End())
	assert.Equal(t, "token", get(t, e, id, "csrf"))
}

// A Commit whose write fails rolls back and reports the error; the turn
// stays held and usable.
func TestTurnCommitFailure(t *testing.T) {
	store := newRecordingStore()
	e := newEngine(t, store, engine.Config{})
	id := mustCreate(t, e)
	set(t, e, id, "a", 1)
	turn, err := e.Begin(context.Background(), id)
	require.NoError(t, err)
	require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
		s.Set("a", 2)
		return nil
	}))
	diskFull := errors.New("no space left on device")
	store.setFailSave(diskFull)
	err = turn.Commit()
	store.setFailSave(nil)
	require.ErrorIs(t, err, diskFull)
	var ee *engine.Error
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "save", ee.Op)
	require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
		v, _ := s.Get("a")
		assert.Equal(t, 1, v, "the failed Commit rolled back")
		return nil
	}))
	require.NoError(t, turn.End())
	assert.Equal(t, 1, get(t, e, id, "a"))
}

type unregistered struct{ N int }

// A value the codec cannot encode fails the Do (or Commit) that stored it,
// whatever the durability, with an error naming the key, the type and the
// remedy; nothing is written and the changes are rolled back.
func TestUnencodableValue(t *testing.T) {
	for _, d := range []engine.Durability{engine.OnCommit, engine.OnCommitSync, engine.OnPassivate} {
		t.Run(d.String(), func(t *testing.T) {
			store := newRecordingStore()
			e := newEngine(t, store, engine.Config{Durability: d})
			id := mustCreate(t, e)
			saves := store.count(store.saves, id)
			err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				s.Set("ok", 1)
				s.Set("bad", unregistered{1})
				return nil
			})
			require.Error(t, err)
			var ee *engine.Error
			require.ErrorAs(t, err, &ee)
			for _, want := range []string{`"bad"`, "engine_test.unregistered", "gob.Register"} {
				assert.Contains(t, err.Error(), want)
			}
			assert.Equal(t, saves, store.count(store.saves, id), "nothing written")
			assert.Nil(t, get(t, e, id, "ok"), "the Do's changes were rolled back")

			// In a held turn (httpadapter's Implicit mode) too, the Do that
			// stored the value reports it, and only its own changes roll back.
			turn, err := e.Begin(context.Background(), id)
			require.NoError(t, err)
			require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
				s.Set("ok", 2)
				return nil
			}))
			err = turn.Do(func(_ context.Context, s *engine.Session) error {
				s.Set("bad", unregistered{2})
				s.Set("also", 3)
				return nil
			})
			var ee2 *engine.EncodeError
			require.ErrorAs(t, err, &ee2)
			assert.Equal(t, "bad", ee2.Key)
			require.NoError(t, turn.Commit())
			require.NoError(t, turn.End())
			assert.Nil(t, get(t, e, id, "bad"))
			assert.Nil(t, get(t, e, id, "also"))
			assert.Equal(t, 2, get(t, e, id, "ok"))
		})
	}
}
