package engine_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// view runs a View of id that reads key, and returns what it read.
func view(t testing.TB, e *engine.Engine, id, key string) any {
	t.Helper()
	var v any
	err := e.View(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		v, _ = s.Get(key)
		return nil
	})
	require.NoError(t, err)
	return v
}

// holdView takes a shared turn of id on another goroutine and keeps it
// until the returned function is called, which waits for the View to end.
func holdView(t testing.TB, e *engine.Engine, ctx context.Context, id string) (release func()) {
	holding, done, ended := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		ended <- e.View(ctx, id, func(context.Context, *engine.Session) error {
			close(holding)
			<-done
			return nil
		})
	}()
	<-holding
	return func() {
		close(done)
		require.NoError(t, <-ended)
	}
}

// done reports whether ch has delivered (without waiting).
func done[T any](ch <-chan T) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Views of one session run together: the barrier opens only when all of
// them are inside at once.
func TestViewsRunTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{})
		id := mustCreate(t, e)
		set(t, e, id, "n", 1)
		const views = 5
		var inside atomic.Int32
		all := make(chan struct{})
		var wg sync.WaitGroup
		for range views {
			wg.Go(func() {
				err := e.View(context.Background(), id, func(_ context.Context, s *engine.Session) error {
					if inside.Add(1) == views {
						close(all)
					}
					<-all // never opens unless every View is inside
					v, _ := s.Get("n")
					assert.Equal(t, 1, v, "got the value in a View, want 1")
					return nil
				})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		assert.Equal(t, 1, get(t, e, id, "n"))
	})
}

// A Do waits for a View in progress, and a View for a Do in progress; the
// View after the Do sees its change.
func TestViewDoExclusion(t *testing.T) {
	t.Run("view first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, nil, engine.Config{})
			id := mustCreate(t, e)
			release := holdView(t, e, context.Background(), id)
			did := make(chan error, 1)
			go func() { did <- increment(context.Background(), e, id) }()
			synctest.Wait()
			require.False(t, done(did), "a Do ran while a View held the session")
			release()
			require.NoError(t, <-did)
			assert.Equal(t, 1, view(t, e, id, "n"))
		})
	})
	t.Run("do first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEngine(t, nil, engine.Config{})
			id := mustCreate(t, e)
			inDo, finish := make(chan struct{}), make(chan struct{})
			go e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				s.Set("n", 7)
				close(inDo)
				<-finish
				return nil
			})
			<-inDo
			saw := make(chan any, 1)
			go func() { saw <- view(t, e, id, "n") }()
			synctest.Wait()
			require.False(t, done(saw), "a View ran while a Do held the session")
			close(finish)
			assert.Equal(t, 7, <-saw, "got the View's value, want the Do's")
		})
	})
}

// Once a Do waits, new Views queue behind it: a stream of Views cannot
// starve it.
func TestViewNoStarvation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{})
		id := mustCreate(t, e)
		release := holdView(t, e, context.Background(), id)
		var order []string
		var mu sync.Mutex
		note := func(s string) {
			mu.Lock()
			order = append(order, s)
			mu.Unlock()
		}
		did := make(chan error, 1)
		go func() {
			did <- e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				note("do")
				s.Set("n", 1)
				return nil
			})
		}()
		synctest.Wait() // the Do waits
		viewed := make(chan error, 1)
		go func() {
			viewed <- e.View(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				v, _ := s.Get("n")
				note("view")
				assert.Equal(t, 1, v, "got the late View's value, want the waiting Do's")
				return nil
			})
		}()
		synctest.Wait()
		require.False(t, done(viewed), "a View overtook a waiting Do")
		release()
		require.NoError(t, <-did)
		require.NoError(t, <-viewed)
		assert.Equal(t, []string{"do", "view"}, order)
	})
}

// Every change in a View is refused with ErrReadOnly and not applied.
func TestViewRefusesEveryChange(t *testing.T) {
	changes := map[string]func(s *engine.Session){
		"Set":            func(s *engine.Session) { s.Set("a", 2) },
		"Delete":         func(s *engine.Session) { s.Delete("a") },
		"Clear":          func(s *engine.Session) { s.Clear() },
		"Pop":            func(s *engine.Session) { engine.Pop[int](s, "a") },
		"SetOwner":       func(s *engine.Session) { s.SetOwner("bob") },
		"SetIdleTimeout": func(s *engine.Session) { s.SetIdleTimeout(time.Minute) },
		"SetLifetime":    func(s *engine.Session) { s.SetLifetime(time.Minute) },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, nil, engine.Config{})
			id := mustCreate(t, e)
			err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				s.Set("a", 1)
				s.SetOwner("alice")
				return nil
			})
			require.NoError(t, err)
			before := snapshot(t, e, id)
			err = e.View(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				change(s)
				return nil
			})
			require.ErrorIs(t, err, engine.ErrReadOnly)
			assert.Equal(t, before, snapshot(t, e, id), "got the session after a refused %s, want it unchanged", name)
		})
	}
}

// snapshot returns what a session holds: values, owner and limits.
func snapshot(t testing.TB, e *engine.Engine, id string) map[string]any {
	t.Helper()
	m := map[string]any{}
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		for _, k := range s.Keys() {
			m[k], _ = s.Get(k)
		}
		m["owner()"] = s.Owner()
		m["idle()"] = s.IdleTimeout()
		m["lifetime()"] = s.Lifetime()
		return nil
	}))
	return m
}

// A View nested in a Do runs inline and sees the Do's changes so far; its
// own changes are refused; the Do's stay.
func TestViewNestedInDo(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	err := e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
		s.Set("n", 1)
		var saw any
		err := e.View(ctx, id, func(_ context.Context, vs *engine.Session) error {
			saw, _ = vs.Get("n")
			vs.Set("n", 99)
			return nil
		})
		require.ErrorIs(t, err, engine.ErrReadOnly)
		assert.Equal(t, 1, saw, "got the nested View's value, want the Do's uncommitted 1")
		v, _ := s.Get("n")
		assert.Equal(t, 1, v, "got the Do's value after the refused change, want 1")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, get(t, e, id, "n"))
}

// Inside a View, Do, Regenerate, Destroy and DestroyOwner of the session
// (with the View's ctx) return ErrReadOnly and change nothing.
func TestViewRefusesExclusiveCalls(t *testing.T) {
	calls := map[string]func(ctx context.Context, e *engine.Engine, id string) error{
		"Do": func(ctx context.Context, e *engine.Engine, id string) error {
			return e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
				s.Set("n", 2)
				return nil
			})
		},
		"Regenerate": func(ctx context.Context, e *engine.Engine, id string) error {
			_, err := e.Regenerate(ctx, id)
			return err
		},
		"Destroy": func(ctx context.Context, e *engine.Engine, id string) error {
			return e.Destroy(ctx, id)
		},
		"DestroyOwner": func(ctx context.Context, e *engine.Engine, _ string) error {
			_, err := e.DestroyOwner(ctx, "alice")
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, nil, engine.Config{})
			id := mustCreate(t, e)
			require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				s.Set("n", 1)
				s.SetOwner("alice")
				return nil
			}))
			result := make(chan error, 1)
			err := e.View(context.Background(), id, func(ctx context.Context, _ *engine.Session) error {
				result <- call(ctx, e, id)
				return nil
			})
			require.NoError(t, err)
			require.ErrorIs(t, within(t, result, 10*time.Second), engine.ErrReadOnly)
			assert.Equal(t, 1, get(t, e, id, "n"), "got the session after a refused %s, want it unchanged", name)
		})
	}
}

// A View nested in a View of the same session runs inline, also while a
// Do waits (a nested shared turn that queued behind it would deadlock).
func TestViewNestedInViewWithDoQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{})
		id := mustCreate(t, e)
		set(t, e, id, "n", 1)
		inside, doWaits := make(chan struct{}), make(chan struct{})
		viewed := make(chan error, 1)
		go func() {
			viewed <- e.View(context.Background(), id, func(ctx context.Context, _ *engine.Session) error {
				close(inside)
				<-doWaits
				return e.View(ctx, id, func(ctx context.Context, s *engine.Session) error {
					return e.View(ctx, id, func(context.Context, *engine.Session) error { return nil })
				})
			})
		}()
		<-inside
		did := make(chan error, 1)
		go func() { did <- increment(context.Background(), e, id) }()
		synctest.Wait()
		close(doWaits)
		require.NoError(t, <-viewed)
		require.NoError(t, <-did)
		assert.Equal(t, 2, get(t, e, id, "n"))
	})
}

// A View refreshes the stored expiry as a Do that only reads does.
func TestViewRefreshesExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRecordingStore()
		e := newEngine(t, store, engine.Config{IdleTimeout: time.Hour, PassivateAfter: 10 * time.Hour, SweepInterval: -1})
		id := mustCreate(t, e)
		set(t, e, id, "n", 1)
		saves := store.count(store.saves, id)
		time.Sleep(30 * time.Minute) // the stored expiry fell behind (fake time)
		view(t, e, id, "n")
		assert.Equal(t, saves+1, store.count(store.saves, id), "got saves after a late View, want one refresh")
		assert.Equal(t, uint64(1), e.Stats().Refreshes)
		time.Sleep(59 * time.Minute)
		assert.Equal(t, 1, view(t, e, id, "n"), "got the value 89 minutes after the Do, 59 after the View, want it alive")
	})
}

// A View on an expired session finds it gone, and deletes it.
func TestViewExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := persist.NewMemory()
		e := newEngine(t, store, engine.Config{IdleTimeout: time.Minute, PassivateAfter: time.Hour, SweepInterval: -1})
		id := mustCreate(t, e)
		set(t, e, id, "n", 1)
		time.Sleep(2 * time.Minute)
		err := e.View(context.Background(), id, func(context.Context, *engine.Session) error { return nil })
		require.ErrorIs(t, err, engine.ErrNotFound)
		assert.Equal(t, uint64(1), e.Stats().Expired)
	})
}

// A View returns fn's error unchanged.
func TestViewReturnsFnError(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	err := e.View(context.Background(), id, func(context.Context, *engine.Session) error { return errBoom })
	require.ErrorIs(t, err, errBoom)
	require.NotErrorIs(t, err, engine.ErrReadOnly)
	require.Equal(t, errBoom, err)
	assert.True(t, errors.Is(e.View(context.Background(), "bad", nil), engine.ErrNotFound))
}
