package actor_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/actor"
)

// Install puts loaded state under a fresh key without Activate; a key that
// has an actor is refused.
func TestInstall(t *testing.T) {
	c := newCounters()
	r := newRuntime(t, c.config())
	turn, err := r.Install(context.Background(), "new", 7)
	require.NoError(t, err)
	assert.Equal(t, "new", turn.Key())
	assert.Equal(t, 7, *turn.State())
	assert.Equal(t, 1, r.Resident())

	_, err = r.Install(context.Background(), "new", 8)
	assert.ErrorIs(t, err, actor.ErrExists, "while its turn is held")
	turn.Release()
	_, err = r.Install(context.Background(), "new", 8)
	assert.ErrorIs(t, err, actor.ErrExists, "while it is resident")

	do(t, r, context.Background(), "new", func(_ context.Context, v *int) {
		assert.Equal(t, 7, *v)
	})
	assert.Equal(t, 0, c.get(c.activations, "new"), "Activate was never called")
	require.NoError(t, r.Close())
	assert.Equal(t, 7, c.get(c.saved, "new"), "an installed actor is passivated like any other")
	_, err = r.Install(context.Background(), "other", 1)
	assert.ErrorIs(t, err, actor.ErrClosed)
}

// Shutdown wakes queued waiters with ErrClosed at once, passivates idle
// actors, and passivates a busy one when its turn ends. With an ended ctx
// it returns ctx's error without waiting for that turn.
func TestShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCounters()
		r, err := actor.New(c.config())
		require.NoError(t, err)
		do(t, r, context.Background(), "idle", func(_ context.Context, v *int) { *v = 1 })
		busy, _, err := r.Acquire(context.Background(), "busy")
		require.NoError(t, err)

		waited := make(chan error, 2)
		for range 2 {
			go func() {
				_, _, err := r.Acquire(context.Background(), "busy")
				waited <- err
			}()
		}
		synctest.Wait()

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, r.Shutdown(ctx), context.Canceled)
		for range 2 {
			assert.ErrorIs(t, <-waited, actor.ErrClosed)
		}
		assert.Equal(t, 1, c.get(c.passivated, "idle"))
		assert.Equal(t, 0, c.get(c.passivated, "busy"), "not while its turn runs")

		*busy.State() = 5
		busy.Release()
		assert.Equal(t, 5, c.get(c.saved, "busy"), "passivated as its turn ended")
		assert.Equal(t, 0, r.Resident())
		assert.NoError(t, r.Shutdown(context.Background()), "a later call")
	})
}

// Past MaxResident the least recently used idle actor goes, not the
// earliest activated one.
func TestEvictsLeastRecentlyUsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCounters()
		cfg := c.config()
		cfg.MaxResident = 2
		r := newRuntime(t, cfg)
		touch := func(k string) { do(t, r, context.Background(), k, func(context.Context, *int) {}) }
		touch("a")
		touch("b")
		touch("a") // b is now the least recently used
		touch("c")
		synctest.Wait()
		assert.Equal(t, 1, c.get(c.passivated, "b"))
		assert.Equal(t, 0, c.get(c.passivated, "a"))
		assert.Equal(t, 0, c.get(c.passivated, "c"))
		assert.Equal(t, 2, r.Resident())
	})
}
