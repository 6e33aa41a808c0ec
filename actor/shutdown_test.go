package actor_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/actor"
)

// Shutdown returns when its ctx ends even while the janitor is in the
// middle of a batch of idle passivations whose first one is stuck; the
// janitor finishes that one and stops, and every actor leaves memory.
func TestShutdownDoesNotWaitForJanitorBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		entered, unblock := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		r, err := actor.New(actor.Config[string, int]{
			Activate: func(context.Context, string) (int, error) { return 0, nil },
			Passivate: func(string, int) error {
				if calls.Add(1) == 1 {
					close(entered)
					<-unblock // a slow write
				}
				return nil
			},
			PassivateAfter: time.Second,
		})
		require.NoError(t, err)
		for _, k := range []string{"a", "b", "c"} {
			turn, _, err := r.Acquire(context.Background(), k)
			require.NoError(t, err)
			turn.Release()
		}
		time.Sleep(2 * time.Second) // fake time: the janitor's idle batch begins
		<-entered

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, r.Shutdown(ctx), context.Canceled)
		assert.Equal(t, 1, r.Resident(), "the idle actors the janitor had not reached were passivated")

		close(unblock)
		assert.NoError(t, r.Close())
		assert.Zero(t, r.Resident())
		assert.Equal(t, int32(3), calls.Load())
	})
}
