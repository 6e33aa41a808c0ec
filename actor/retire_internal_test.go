package actor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A Retire that arrives while the runtime holds the actor's turn for an
// idle or overflow check that then decides not to passivate is not lost:
// the actor is passivated all the same.
func TestRetireDuringTryPassivate(t *testing.T) {
	passivated := make(chan string, 1)
	r, err := New(Config[string, int]{
		Activate:  func(context.Context, string) (int, error) { return 0, nil },
		Passivate: func(key string, _ int) error { passivated <- key; return nil },
	})
	require.NoError(t, err)
	defer r.Close()
	turn, _, err := r.Acquire(context.Background(), "k")
	require.NoError(t, err)
	turn.Release()

	a := r.actors.load("k")
	require.NotNil(t, a)
	left := r.tryPassivate(a, func(*actor[string, int]) bool {
		r.Retire("k") // finds the actor busy: its release must act on it
		return false  // not idle after all
	})
	require.False(t, left)
	select {
	case key := <-passivated:
		require.Equal(t, "k", key)
	case <-time.After(10 * time.Second):
		t.Fatal("the Retire was lost: the actor was never passivated")
	}
}
