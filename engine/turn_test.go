package engine_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// A Turn holds the session across calls: other Dos wait until End.
func TestTurnHoldsUntilEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{})
		id := mustCreate(t, e)
		turn, err := e.Begin(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if turn.ID() != id {
			t.Fatalf("ID = %q, want %q", turn.ID(), id)
		}
		waiter := make(chan any, 1)
		go func() { waiter <- get(t, e, id, "n") }()
		if err := turn.Do(func(ctx context.Context, s *engine.Session) error {
			s.Set("n", 1)
			// Engine calls with the turn's context run inline.
			return increment(ctx, e, id)
		}); err != nil {
			t.Fatal(err)
		}
		err = turn.Do(func(_ context.Context, s *engine.Session) error {
			s.Set("n", 100)
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Turn.Do = %v, want errBoom", err)
		}
		synctest.Wait()
		select {
		case v := <-waiter:
			t.Fatalf("a Do ran while the Turn was held (saw %v)", v)
		default:
		}
		if err := turn.End(); err != nil {
			t.Fatal(err)
		}
		if err := turn.End(); err != nil {
			t.Fatalf("second End: %v", err)
		}
		if v := <-waiter; v != 2 {
			t.Fatalf("waiter saw n = %v, want 2", v)
		}
		if err := turn.Do(func(context.Context, *engine.Session) error { return nil }); err == nil {
			t.Fatal("Do on an ended Turn succeeded")
		}
	})
}

// A lazy turn creates nothing until the first Set, and then a session
// whose turn it holds.
func TestLazyTurn(t *testing.T) {
	store := persist.NewMemory()
	e := newEngine(t, store, engine.Config{})

	turn, err := e.BeginLazy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	turn.Do(func(_ context.Context, s *engine.Session) error {
		if _, ok := s.Get("x"); ok || s.Len() != 0 || s.ID() != "" {
			t.Errorf("lazy session not empty")
		}
		return nil
	})
	if err := turn.End(); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 0 || e.Stats().Active != 0 {
		t.Fatalf("read-only lazy turn left %d records, %d actors", store.Len(), e.Stats().Active)
	}

	turn, err = e.BeginLazy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	turn.Do(func(ctx context.Context, s *engine.Session) error {
		s.Set("x", 1)
		if s.ID() == "" || s.ID() != turn.ID() {
			t.Errorf("ID after first Set = %q", s.ID())
		}
		// The new session is reachable inline with the turn's context.
		return increment(ctx, e, s.ID())
	})
	id := turn.ID()
	blocked := make(chan error, 1)
	go func() { blocked <- increment(context.Background(), e, id) }()
	if err := turn.End(); err != nil {
		t.Fatal(err)
	}
	if err := within(t, blocked, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	assertValues(t, e, id, map[string]any{"x": 1, "n": 2})
	if store.Len() != 1 {
		t.Fatalf("store holds %d records, want 1", store.Len())
	}
}

// A lazy turn whose first Set is rolled back creates no session.
func TestLazyTurnRolledBack(t *testing.T) {
	store := persist.NewMemory()
	e := newEngine(t, store, engine.Config{})
	turn, _ := e.BeginLazy(context.Background())
	var created string
	err := turn.Do(func(_ context.Context, s *engine.Session) error {
		s.Set("x", 1)
		created = s.ID()
		return errBoom
	})
	if !errors.Is(err, errBoom) || created == "" {
		t.Fatalf("Do = %v, created %q", err, created)
	}
	if turn.ID() != "" {
		t.Fatalf("ID after rollback = %q, want \"\"", turn.ID())
	}
	// A later Set in the same turn creates a fresh session.
	turn.Do(func(_ context.Context, s *engine.Session) error { s.Set("y", 2); return nil })
	id := turn.ID()
	if err := turn.End(); err != nil {
		t.Fatal(err)
	}
	if id == "" || id == created {
		t.Fatalf("second creation got ID %q (first %q)", id, created)
	}
	if err := increment(context.Background(), e, created); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Do on the rolled-back ID = %v, want ErrNotFound", err)
	}
	assertValues(t, e, id, map[string]any{"y": 2})
	if store.Len() != 1 {
		t.Fatalf("store holds %d records, want 1", store.Len())
	}
}

// Begin with a context that holds the turn borrows it.
func TestBeginInsideTurnBorrows(t *testing.T) {
	e := newEngine(t, nil, engine.Config{LockTimeout: time.Minute})
	id := mustCreate(t, e)
	done := make(chan error, 1)
	go func() {
		done <- e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
			inner, err := e.Begin(ctx, id)
			if err != nil {
				return err
			}
			inner.Do(func(_ context.Context, s *engine.Session) error { s.Set("k", 1); return nil })
			return inner.End()
		})
	}()
	if err := within(t, done, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if v := get(t, e, id, "k"); v != 1 {
		t.Fatalf("k = %v, want 1", v)
	}
}

// A Turn dropped without End does not wedge the session.
func TestAbandonedTurnIsReleased(t *testing.T) {
	e := newEngine(t, nil, engine.Config{LockTimeout: time.Minute})
	id := mustCreate(t, e)
	func() {
		turn, err := e.Begin(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		turn.Do(func(_ context.Context, s *engine.Session) error { s.Set("lost", 1); return nil })
	}()
	done := make(chan any, 1)
	go func() { done <- get(t, e, id, "lost") }()
	for range 10 {
		runtime.GC()
		select {
		case v := <-done:
			if v != nil {
				t.Fatalf("lost = %v, want nil (rolled back)", v)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatal("the session stayed wedged after the Turn was collected")
}

func TestBeginErrors(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	if _, err := e.Begin(context.Background(), "bad"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Begin(bad) = %v, want ErrNotFound", err)
	}
	id := mustCreate(t, e)
	if err := e.Destroy(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Begin(context.Background(), id); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Begin(destroyed) = %v, want ErrNotFound", err)
	}
}
