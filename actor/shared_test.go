package actor_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/actor"
)

// acquireAsync asks for a turn of key on another goroutine and delivers it.
func acquireAsync(r *actor.Runtime[string, int], key string, shared bool) <-chan *actor.Turn[string, int] {
	ch := make(chan *actor.Turn[string, int], 1)
	go func() {
		var t *actor.Turn[string, int]
		var err error
		if shared {
			t, _, err = r.AcquireShared(context.Background(), key)
		} else {
			t, _, err = r.Acquire(context.Background(), key)
		}
		if err == nil {
			ch <- t
		}
		close(ch)
	}()
	return ch
}

func ready[T any](ch <-chan T) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Shared turns of a key run together, the first of them activating the
// actor once; an exclusive turn waits for all of them.
func TestSharedTurnsTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCounters()
		r := newRuntime(t, c.config())
		var turns []*actor.Turn[string, int]
		for range 3 {
			tr, nested, err := r.AcquireShared(context.Background(), "k")
			require.NoError(t, err)
			require.False(t, nested)
			require.True(t, tr.Shared())
			turns = append(turns, tr)
		}
		assert.Equal(t, 1, c.get(c.activations, "k"), "got activations, want 1")
		excl := acquireAsync(r, "k", false)
		synctest.Wait()
		require.False(t, ready(excl), "an exclusive turn ran beside shared ones")
		for _, tr := range turns[:2] {
			tr.Release()
		}
		synctest.Wait()
		require.False(t, ready(excl), "an exclusive turn ran beside a shared one")
		turns[2].Release()
		tr := <-excl
		require.NotNil(t, tr)
		tr.Release()
	})
}

// Shared turns queued behind an actor that is not loaded are let in
// together once the first of them has activated it.
func TestSharedTurnsActivateOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCounters()
		r := newRuntime(t, c.config())
		hold, _, err := r.Acquire(context.Background(), "k")
		require.NoError(t, err)
		hold.Retire() // passivated when released: the waiters find it unloaded
		var waiting []<-chan *actor.Turn[string, int]
		for range 3 {
			waiting = append(waiting, acquireAsync(r, "k", true))
		}
		synctest.Wait()
		hold.Release()
		var turns []*actor.Turn[string, int]
		for _, ch := range waiting {
			tr := <-ch // all three are in at once
			require.NotNil(t, tr)
			turns = append(turns, tr)
		}
		assert.Equal(t, 2, c.get(c.activations, "k"), "got activations, want one more for the shared turns")
		for _, tr := range turns {
			tr.Release()
		}
	})
}

// Once an exclusive turn waits, or Retire asked for the actor (a
// hand-over), new shared turns queue behind it.
func TestSharedTurnsYield(t *testing.T) {
	for _, cause := range []string{"exclusive waiter", "retire"} {
		t.Run(cause, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCounters()
				r := newRuntime(t, c.config())
				first, _, err := r.AcquireShared(context.Background(), "k")
				require.NoError(t, err)
				var excl <-chan *actor.Turn[string, int]
				if cause == "retire" {
					r.Retire("k")
				} else {
					excl = acquireAsync(r, "k", false)
				}
				synctest.Wait()
				late := acquireAsync(r, "k", true)
				synctest.Wait()
				require.False(t, ready(late), "a shared turn overtook a %s", cause)
				first.Release()
				if excl != nil {
					tr := <-excl
					require.NotNil(t, tr)
					synctest.Wait()
					require.False(t, ready(late), "a shared turn ran beside the exclusive one")
					tr.Release()
				}
				tr := <-late
				require.NotNil(t, tr)
				tr.Release()
				if cause == "retire" {
					assert.Equal(t, 1, c.get(c.passivated, "k"), "got passivations, want the hand-over served first")
				}
			})
		})
	}
}

// A shared and an exclusive turn on one key never overlap, under load.
func TestSharedStress(t *testing.T) {
	r := newRuntime(t, newCounters().config())
	var mu sync.RWMutex // TryLock checks what the turns promise
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 300 {
				shared := (w+i)%3 != 0
				var tr *actor.Turn[string, int]
				var err error
				if shared {
					tr, _, err = r.AcquireShared(context.Background(), "k")
				} else {
					tr, _, err = r.Acquire(context.Background(), "k")
				}
				if !assert.NoError(t, err) {
					return
				}
				if shared {
					if !mu.TryRLock() {
						t.Error("a shared turn ran beside an exclusive one")
					} else {
						mu.RUnlock()
					}
				} else {
					if !mu.TryLock() {
						t.Error("an exclusive turn ran beside another turn")
					} else {
						*tr.State()++
						mu.Unlock()
					}
				}
				if i%50 == 0 {
					r.Retire("k")
				}
				tr.Release()
			}
		})
	}
	wg.Wait()
}

// A wait that closes a cycle of turns held through contexts fails at once
// with ErrDeadlock; Stats counts it.
func TestAcquireDeadlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRuntime(t, newCounters().config())
		a, _, err := r.Acquire(context.Background(), "a")
		require.NoError(t, err)
		bWaits := make(chan error, 1)
		go func() {
			b, _, err := r.Acquire(context.Background(), "b")
			if err != nil {
				bWaits <- err
				return
			}
			ta, _, err := r.Acquire(b, "a") // waits for a's holder
			if err == nil {
				ta.Release()
			}
			b.Release()
			bWaits <- err
		}()
		synctest.Wait() // b is held, and its holder waits for a
		// a's holder asks for b: the wait closes the cycle.
		_, _, err = r.Acquire(a, "b")
		require.ErrorIs(t, err, actor.ErrDeadlock)
		a.Release()
		require.NoError(t, <-bWaits, "got an error for the wait that did not close the cycle")
		assert.Equal(t, uint64(1), r.Stats().Deadlocks)
	})
}
