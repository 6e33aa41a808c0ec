package actor_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/actor"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// counters is a backing store for int states that counts activations and
// passivations per key.
type counters struct {
	mu          sync.Mutex
	saved       map[string]int
	activations map[string]int
	passivated  map[string]int
	failSave    error
}

func newCounters() *counters {
	return &counters{saved: map[string]int{}, activations: map[string]int{}, passivated: map[string]int{}}
}

func (c *counters) config() actor.Config[string, int] {
	return actor.Config[string, int]{
		Activate: func(_ context.Context, key string) (int, error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.activations[key]++
			return c.saved[key], nil
		},
		Passivate: func(key string, v int) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.failSave != nil {
				return c.failSave
			}
			c.passivated[key]++
			c.saved[key] = v
			return nil
		},
	}
}

func (c *counters) get(m map[string]int, key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return m[key]
}

func newRuntime(t *testing.T, cfg actor.Config[string, int]) *actor.Runtime[string, int] {
	t.Helper()
	r, err := actor.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func do(t *testing.T, r *actor.Runtime[string, int], ctx context.Context, key string, fn func(ctx context.Context, v *int)) {
	t.Helper()
	turn, nested, err := r.Acquire(ctx, key)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", key, err)
	}
	fn(turn, turn.State())
	if !nested {
		turn.Release()
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := actor.New(actor.Config[string, int]{}); err == nil {
		t.Fatal("New without hooks succeeded")
	}
}

// Re-entrancy crosses runtimes of different types: A (runtime 1) -> B
// (runtime 2) -> A runs inline.
func TestReentrancyAcrossRuntimes(t *testing.T) {
	c := newCounters()
	r1 := newRuntime(t, c.config())
	r2, err := actor.New(actor.Config[int, string]{
		Activate:  func(context.Context, int) (string, error) { return "", nil },
		Passivate: func(int, string) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		do(t, r1, context.Background(), "A", func(ctx context.Context, v *int) {
			*v = 1
			tb, nested, err := r2.Acquire(ctx, 7)
			if err != nil || nested {
				t.Errorf("Acquire(B) = %v, nested %v", err, nested)
				return
			}
			ta, nested, err := r1.Acquire(tb, "A")
			if err != nil || !nested {
				t.Errorf("Acquire(A) through B = %v, nested %v; want inline", err, nested)
			} else {
				*ta.State() = 2
			}
			if !tb.Alive() {
				t.Error("B's turn is not alive inside it")
			}
			tb.Release()
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock")
	}
	do(t, r1, context.Background(), "A", func(_ context.Context, v *int) {
		if *v != 2 {
			t.Errorf("A = %d, want 2", *v)
		}
	})
}

// Release is idempotent and a released turn is dead.
func TestReleaseTwice(t *testing.T) {
	r := newRuntime(t, newCounters().config())
	turn, _, err := r.Acquire(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	turn.Release()
	if turn.Alive() {
		t.Fatal("released turn still alive")
	}
	turn2, _, _ := r.Acquire(context.Background(), "k")
	turn.Release() // must not release turn2
	if !turn2.Alive() {
		t.Fatal("a stale Release ended the next turn")
	}
	turn2.Release()
}

// Retire passivates an idle actor promptly and a busy one after its turn.
func TestRetire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCounters()
		r := newRuntime(t, c.config())
		do(t, r, context.Background(), "idle", func(_ context.Context, v *int) { *v = 5 })
		r.Retire("idle")
		synctest.Wait()
		if got := c.get(c.passivated, "idle"); got != 1 {
			t.Fatalf("idle passivations = %d, want 1", got)
		}

		turn, _, _ := r.Acquire(context.Background(), "busy")
		r.Retire("busy")
		synctest.Wait()
		if got := c.get(c.passivated, "busy"); got != 0 {
			t.Fatalf("busy actor passivated during its turn")
		}
		turn.Release()
		if got := c.get(c.passivated, "busy"); got != 1 {
			t.Fatalf("busy passivations after its turn = %d, want 1", got)
		}
		if r.Resident() != 0 {
			t.Fatalf("Resident = %d, want 0", r.Resident())
		}
		r.Retire("unknown") // no actor: nothing happens
	})
}

// A failing passivation keeps the actor resident with its state.
func TestPassivateFailureKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCounters()
		cfg := c.config()
		var reported atomic.Int32
		cfg.OnError = func(string, error) { reported.Add(1) }
		r := newRuntime(t, cfg)
		do(t, r, context.Background(), "k", func(_ context.Context, v *int) { *v = 9 })
		c.mu.Lock()
		c.failSave = errors.New("disk full")
		c.mu.Unlock()
		r.Retire("k")
		synctest.Wait()
		if r.Resident() != 1 || reported.Load() != 1 {
			t.Fatalf("Resident = %d, reported %d; want 1, 1", r.Resident(), reported.Load())
		}
		c.mu.Lock()
		c.failSave = nil
		c.mu.Unlock()
		do(t, r, context.Background(), "k", func(_ context.Context, v *int) {
			if *v != 9 {
				t.Errorf("state = %d, want 9", *v)
			}
		})
		if got := c.get(c.activations, "k"); got != 1 {
			t.Fatalf("activations = %d, want 1", got)
		}
	})
}

// An activation error passes the turn to the next waiter, which tries again.
func TestActivationErrorPassesTurn(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	errLoad := errors.New("load failed")
	r := newRuntime(t, actor.Config[string, int]{
		Activate: func(context.Context, string) (int, error) {
			if fail.Swap(false) {
				return 0, errLoad
			}
			return 1, nil
		},
		Passivate: func(string, int) error { return nil },
	})
	if _, _, err := r.Acquire(context.Background(), "k"); !errors.Is(err, errLoad) {
		t.Fatalf("Acquire = %v, want errLoad", err)
	}
	do(t, r, context.Background(), "k", func(_ context.Context, v *int) {
		if *v != 1 {
			t.Errorf("state = %d, want 1", *v)
		}
	})
}

// Timeout bounds an activation that blocks.
func TestActivationTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRuntime(t, actor.Config[string, int]{
			Activate: func(ctx context.Context, _ string) (int, error) {
				<-ctx.Done()
				return 0, ctx.Err()
			},
			Passivate: func(string, int) error { return nil },
			Timeout:   time.Second,
		})
		if _, _, err := r.Acquire(context.Background(), "k"); !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("Acquire = %v, want ErrTimeout", err)
		}
	})
}

// Acquire after Close fails; Close passivates everything once.
func TestClose(t *testing.T) {
	c := newCounters()
	r, err := actor.New(c.config())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		do(t, r, context.Background(), k, func(_ context.Context, v *int) { *v = len(k) })
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	for _, k := range []string{"a", "b", "c"} {
		if got := c.get(c.passivated, k); got != 1 {
			t.Errorf("%s passivated %d times, want 1", k, got)
		}
	}
	if _, _, err := r.Acquire(context.Background(), "a"); !errors.Is(err, actor.ErrClosed) {
		t.Fatalf("Acquire after Close = %v, want ErrClosed", err)
	}
}

// Generations: turns racing idle passivation and eviction on many keys are
// each run once, on the one live incarnation, with the state carried over.
func TestStressIncarnations(t *testing.T) {
	c := newCounters()
	cfg := c.config()
	cfg.PassivateAfter = time.Millisecond
	cfg.MaxResident = 3
	r := newRuntime(t, cfg)
	const keys, workers, each = 10, 8, 500
	names := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"}
	var runs [keys]atomic.Int64
	var inside [keys]atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				k := (w*7 + i*3) % keys
				do(t, r, context.Background(), names[k], func(_ context.Context, v *int) {
					if inside[k].Add(1) != 1 {
						t.Errorf("two turns inside %s", names[k])
					}
					*v++
					runs[k].Add(1)
					inside[k].Add(-1)
				})
				if i%50 == 0 {
					r.Retire(names[k])
				}
			}
		})
	}
	wg.Wait()
	for k, name := range names {
		do(t, r, context.Background(), name, func(_ context.Context, v *int) {
			if int64(*v) != runs[k].Load() {
				t.Errorf("%s = %d, ran %d times", name, *v, runs[k].Load())
			}
		})
	}
}

// Shed passivates the least recently used idle actors on the caller's
// goroutine, skipping the one whose turn is held.
func TestShed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCounters()
		r := newRuntime(t, c.config())
		for _, k := range []string{"a", "b", "c", "d"} {
			do(t, r, context.Background(), k, func(context.Context, *int) {})
		}
		held, _, err := r.Acquire(context.Background(), "a") // a is now the most recent, and busy
		require.NoError(t, err)
		assert.Equal(t, 2, r.Shed(2))
		assert.Equal(t, 1, c.get(c.passivated, "b"))
		assert.Equal(t, 1, c.get(c.passivated, "c"))
		assert.Equal(t, 1, r.Shed(10), "only d is idle")
		assert.Equal(t, 0, c.get(c.passivated, "a"))
		held.Release()
		assert.Equal(t, 1, r.Resident())
	})
}

// Stats counts turns, and turns that queued with the time they waited.
func TestStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRuntime(t, newCounters().config())
		held, _, err := r.Acquire(context.Background(), "k")
		require.NoError(t, err)
		done := make(chan struct{})
		go func() {
			do(t, r, context.Background(), "k", func(context.Context, *int) {})
			close(done)
		}()
		synctest.Wait()
		time.Sleep(time.Second)
		held.Release()
		<-done
		s := r.Stats()
		assert.Equal(t, actor.Stats{Turns: 2, Waited: 1, WaitTime: time.Second}, s)
	})
}

// A Retire request is served between the passivations of an idle batch,
// not after the batch: the hand-over waits for one passivation at most.
func TestRetireAheadOfIdleBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var order []string
		first := make(chan struct{})
		var once sync.Once
		cfg := actor.Config[string, int]{
			Activate: func(context.Context, string) (int, error) { return 0, nil },
			Passivate: func(key string, _ int) error {
				once.Do(func() { close(first) })
				time.Sleep(time.Second) // a slow write
				mu.Lock()
				order = append(order, key)
				mu.Unlock()
				return nil
			},
			PassivateAfter: time.Minute,
		}
		r := newRuntime(t, cfg)
		keys := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "wanted"}
		for _, k := range keys {
			do(t, r, context.Background(), k, func(context.Context, *int) {})
		}
		<-first // a minute later all are idle, and the janitor started the batch
		r.Retire("wanted")
		synctest.Wait()
		time.Sleep(time.Hour)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, order, len(keys))
		assert.Less(t, slices.Index(order, "wanted"), 3, "passivation order %v", order)
	})
}
