//go:build unix

package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// A lost lock is reported once, and so is the failed commit that found it;
// the session's residency stays balanced.
func TestObserverLockLost(t *testing.T) {
	var o observation
	a, _, _, id := lostLockSetup(t, engine.Config{Observer: o.observer()})
	err := a.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set("k", 3)
		return nil
	})
	require.ErrorIs(t, err, persist.ErrLockLost)
	require.NoError(t, a.Close())
	o.mu.Lock()
	defer o.mu.Unlock()
	assert.Equal(t, 1, o.lost)
	last := o.commits[len(o.commits)-1]
	assert.ErrorIs(t, last.Err, persist.ErrLockLost, "the commit that found the lock lost")
	assert.ErrorIs(t, o.turns[len(o.turns)-1].Err, persist.ErrLockLost)
	assert.Equal(t, len(o.activations), len(o.passivated), "Activated and Passivated")
}
