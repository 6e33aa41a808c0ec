package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lockstep-go/lockstep/engine"
)

// Guarantee 1 (docs/architecture.md): turns of one session run one at a
// time; no update is lost.
func TestConcurrentIncrementsLoseNothing(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	const workers, each = 8, 1500
	incrementConcurrently(t, e, id, workers, each)()
	if got, want := get(t, e, id, "n"), workers*each; got != want {
		t.Fatalf("counter = %v, want %d", got, want)
	}
}

// Guarantee 1 (docs/architecture.md): no two turns overlap, checked with an
// occupancy flag.
func TestTurnsNeverOverlap(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	var inside, overlaps int32
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				e.Do(context.Background(), id, func(context.Context, *engine.Session) error {
					mu.Lock()
					inside++
					if inside > 1 {
						overlaps++
					}
					mu.Unlock()
					mu.Lock()
					inside--
					mu.Unlock()
					return nil
				})
			}
		})
	}
	wg.Wait()
	if overlaps != 0 {
		t.Fatalf("overlapping turns: %d", overlaps)
	}
}

// Guarantee 2 (docs/architecture.md): a Do with the turn's ctx, or a context
// derived from it, runs inline.
func TestNestedDoRunsInline(t *testing.T) {
	e := newEngine(t, nil, engine.Config{LockTimeout: time.Minute})
	id := mustCreate(t, e)
	done := make(chan error, 1)
	go func() {
		done <- e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
			s.Set("outer", 1)
			derived, cancel := context.WithCancel(context.WithValue(ctx, derivedKey{}, "x"))
			defer cancel()
			return e.Do(derived, id, func(ctx context.Context, s *engine.Session) error {
				if v, _ := s.Get("outer"); v != 1 {
					t.Errorf("inner sees outer = %v, want 1", v)
				}
				s.Set("inner", 2)
				return e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
					s.Set("innermost", 3)
					return nil
				})
			})
		})
	}()
	if err := within(t, done, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]int{"outer": 1, "inner": 2, "innermost": 3} {
		if got := get(t, e, id, k); got != want {
			t.Errorf("%s = %v, want %d", k, got, want)
		}
	}
}

// Guarantee 2 (docs/architecture.md): call-chain re-entrancy through another
// session: A -> B -> A.
func TestCallChainReentrancy(t *testing.T) {
	e := newEngine(t, nil, engine.Config{LockTimeout: time.Minute})
	a, b := mustCreate(t, e), mustCreate(t, e)
	done := make(chan error, 1)
	go func() {
		done <- e.Do(context.Background(), a, func(ctx context.Context, s *engine.Session) error {
			s.Set("a", 1)
			return e.Do(ctx, b, func(ctx context.Context, s *engine.Session) error {
				s.Set("b", 1)
				return e.Do(ctx, a, func(_ context.Context, s *engine.Session) error {
					s.Set("a", 2)
					return nil
				})
			})
		})
	}()
	if err := within(t, done, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := get(t, e, a, "a"); got != 2 {
		t.Errorf("a = %v, want 2", got)
	}
	if got := get(t, e, b, "b"); got != 1 {
		t.Errorf("b = %v, want 1", got)
	}
}

// Guarantee 3 (docs/architecture.md): a context retained past its turn
// queues like any other.
func TestRetainedContextQueues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{LockTimeout: time.Second})
		id := mustCreate(t, e)
		var retained context.Context
		e.Do(context.Background(), id, func(ctx context.Context, _ *engine.Session) error {
			retained = ctx
			return nil
		})
		release := hold(e, id)
		err := e.Do(retained, id, func(context.Context, *engine.Session) error { return nil })
		if !errors.Is(err, engine.ErrLockTimeout) {
			t.Errorf("Do with a retained context = %v, want ErrLockTimeout (it must queue)", err)
		}
		release()
	})
}

// Guarantee 4 (docs/architecture.md): a Do that cannot get its turn in time
// fails, names the session, and changes nothing.
func TestLockTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{LockTimeout: 50 * time.Millisecond})
		id := mustCreate(t, e)
		release := hold(e, id)
		ran := false
		err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			ran = true
			s.Set("x", 1)
			return nil
		})
		if !errors.Is(err, engine.ErrLockTimeout) {
			t.Fatalf("err = %v, want ErrLockTimeout", err)
		}
		if !strings.Contains(err.Error(), id[:6]) {
			t.Errorf("error %q does not name the session", err)
		}
		if ran {
			t.Error("fn ran despite the timeout")
		}

		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(10 * time.Millisecond)
			cancel()
		}()
		err = e.Do(ctx, id, func(context.Context, *engine.Session) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		release()
		synctest.Wait()
		if v := get(t, e, id, "x"); v != nil {
			t.Errorf("x = %v after timed-out Do, want nil", v)
		}
	})
}

// A Do whose ctx has already ended runs nothing, even on an idle session.
func TestDoWithEndedContext(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.Do(ctx, id, func(context.Context, *engine.Session) error {
		t.Error("fn ran with an ended context")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
	if _, err := e.Create(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Create = %v, want context.Canceled", err)
	}
}

// Waiters are served in the order they arrived.
func TestTurnsAreFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{})
		id := mustCreate(t, e)
		release := hold(e, id)
		var mu sync.Mutex
		var order []int
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				e.Do(context.Background(), id, func(context.Context, *engine.Session) error {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
					return nil
				})
			})
			synctest.Wait() // i is queued before i+1 starts
		}
		release()
		wg.Wait()
		for i, v := range order {
			if v != i {
				t.Fatalf("order = %v, want 0..4", order)
			}
		}
	})
}

// derivedKey keys a value that derives a context from a turn's.
type derivedKey struct{}
