package actor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// An Acquire whose create finds another goroutine's actor in the map,
// which then dies before it is locked (its only turn failed to activate,
// so the actor left the map), looks the key up again and gets a turn on
// a fresh actor.
func TestCreateFindsActorThatDies(t *testing.T) {
	errActivate := errors.New("activation failed")
	gate := make(chan struct{})
	activating := make(chan struct{})
	var activations atomic.Int32
	r, err := New(Config[string, int]{
		Activate: func(context.Context, string) (int, error) {
			if activations.Add(1) == 1 {
				close(activating)
				<-gate
				return 0, errActivate
			}
			return 7, nil
		},
		Passivate: func(string, int) error { return nil },
	})
	require.NoError(t, err)
	defer r.Close()

	first := make(chan error, 1)
	var creates atomic.Int32
	r.hooks.beforeStore = func() {
		if creates.Add(1) != 1 {
			return // the first goroutine's own create
		}
		// The second goroutine found no actor; the first one stores its
		// actor now and starts activating it.
		go func() {
			_, _, err := r.Acquire(context.Background(), "k")
			first <- err
		}()
		<-activating
	}
	var lost atomic.Int32
	r.hooks.lostStore = func() {
		lost.Add(1)
		// The second goroutine lost the store to the first one's actor;
		// that actor dies now, before the second goroutine locks it.
		close(gate)
		require.ErrorIs(t, <-first, errActivate)
	}

	turn, nested, err := r.Acquire(context.Background(), "k")
	require.NoError(t, err)
	require.False(t, nested)
	require.Equal(t, 7, *turn.State(), "got the state of the turn, want the second activation's")
	turn.Release()
	require.Equal(t, int32(1), lost.Load(), "got lost stores, want 1: the window was not forced")
	require.Equal(t, int32(2), activations.Load(), "got activations, want 2")
}
