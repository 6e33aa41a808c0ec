package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// A session whose lock reports an error when passivation releases it is
// dropped from memory all the same: kept resident without its lock, its
// next turns would commit nothing.
func TestFailedReleaseDropsTheSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &releaseFailStore{Store: persist.NewMemory()}
		e, err := engine.New(store, engine.Config{PassivateAfter: time.Minute})
		require.NoError(t, err)
		a := mustCreate(t, e)
		ctx := context.Background()
		require.NoError(t, increment(ctx, e, a)) // a is resident
		store.failing.Store(&a)
		time.Sleep(time.Minute + time.Second) // one janitor tick passivates a; its Release fails
		synctest.Wait()
		require.Equal(t, 1, store.failed(), "Release was not called")
		store.failing.Store(nil)

		require.NoError(t, increment(ctx, e, a))
		require.NoError(t, e.Close())

		e2, err := engine.New(store, engine.Config{})
		require.NoError(t, err)
		defer e2.Close()
		require.Equal(t, 2, get(t, e2, a, "n"), "the increment after the failed release was not saved")
	})
}

// releaseFailStore lets its locks go but reports an error from the
// Release of the session failing names.
type releaseFailStore struct {
	persist.Store
	failing atomic.Pointer[string]
	fails   atomic.Int32
}

func (s *releaseFailStore) failed() int { return int(s.fails.Load()) }

func (s *releaseFailStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	l, err := s.Store.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	return &releaseFailLock{Lock: l, s: s, id: id}, nil
}

type releaseFailLock struct {
	persist.Lock
	s  *releaseFailStore
	id string
}

func (l *releaseFailLock) Release() error {
	err := l.Lock.Release()
	if id := l.s.failing.Load(); id != nil && *id == l.id {
		l.s.fails.Add(1)
		return errBoom
	}
	return err
}
