package actor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// A waiter that was granted its turn waits no more, even before its
// goroutine runs again: a walk of the wait-for graph meanwhile does not
// follow its wait. Here the holder of a was granted a shared turn of b;
// another holder of b that then waits for a closes no cycle (a's holder
// runs, and will let a go), and must wait, not fail with ErrDeadlock.
func TestDeadlockIgnoresGrantedWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newPlainRuntime(t)
		first, _, err := r.AcquireShared(context.Background(), "b")
		require.NoError(t, err)
		go func() { // an exclusive waiter, so that the shared turn below queues
			tb, _, err := r.Acquire(context.Background(), "b")
			if err == nil {
				tb.Release()
			}
		}()
		synctest.Wait()
		done := make(chan struct{})
		go func() {
			defer close(done)
			ta, _, err := r.Acquire(context.Background(), "a")
			require.NoError(t, err)
			defer ta.Release()
			tb, _, err := r.AcquireShared(ta, "b") // queues: a -> b
			require.NoError(t, err)
			tb.Release()
		}()
		synctest.Wait()

		var got error
		r.hooks.granted = func(w *ticket) {
			if !w.shared {
				return // the exclusive waiter's turn
			}
			// a's holder has its shared turn of b and waits no more.
			other, _, err := r.AcquireShared(context.Background(), "b")
			require.NoError(t, err)
			defer other.Release()
			ctx, cancel := context.WithTimeout(other, time.Second)
			defer cancel()
			_, _, got = r.Acquire(ctx, "a")
		}
		first.Release()
		<-done
		require.ErrorIs(t, got, context.DeadlineExceeded, "got %v, want a wait that times out", got)
		require.Equal(t, uint64(0), r.Stats().Deadlocks, "got deadlocks counted, want none")
	})
}
