package actor

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"
)

// The last shared turn out, on the slow path, owns the actor until it has
// handed it on, also when the waiter that sent it there gave up (and the
// lock-free paths opened again) before it locked the actor: no exclusive
// turn is taken lock-free beside it.
func TestLastSharedOutKeepsTheActor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newPlainRuntime(t)
		reader, _, err := r.AcquireShared(context.Background(), "k")
		require.NoError(t, err)
		a := r.actors.load("k")

		// An exclusive waiter sends the reader's release to the slow path.
		ctx, cancel := context.WithCancel(context.Background())
		gaveUp := make(chan error, 1)
		go func() {
			_, _, err := r.Acquire(ctx, "k")
			gaveUp <- err
		}()
		synctest.Wait()
		r.hooks.sharedSlow = func() {
			// The waiter gives up before the reader locks the actor: the
			// lock-free paths are open again.
			cancel()
			require.ErrorIs(t, <-gaveUp, context.Canceled)
		}
		stolen := false
		r.hooks.sharedOwner = func() {
			if a.tryFast(false) {
				stolen = true
				a.state.Add(-stateExclusive)
			}
		}
		reader.Release()
		require.False(t, stolen, "got an exclusive turn taken lock-free while the last shared turn out owned the actor")
		require.Equal(t, int64(0), a.state.Load(), "got state word, want a free actor")
	})
}

// newPlainRuntime returns a runtime whose actors hold 0 and passivate
// without a trace, closed when the test ends.
func newPlainRuntime(t *testing.T) *Runtime[string, int] {
	t.Helper()
	r, err := New(Config[string, int]{
		Activate:  func(context.Context, string) (int, error) { return 0, nil },
		Passivate: func(string, int) error { return nil },
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}
