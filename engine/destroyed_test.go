package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// DestroyedSince tells the sessions destroyed after a mark, by Destroy and
// by DestroyOwner (resident or only stored), from those that were not, and
// says when it no longer remembers.
func TestDestroyedSince(t *testing.T) {
	e := newEngine(t, persist.NewMemory(), engine.Config{})
	kept, byDestroy, byOwner := mustCreate(t, e), mustCreate(t, e), mustCreate(t, e)
	require.NoError(t, e.Do(context.Background(), byOwner, func(_ context.Context, s *engine.Session) error {
		s.SetOwner("alice")
		return nil
	}))
	mark := e.Destroyed()
	require.NoError(t, e.Destroy(context.Background(), byDestroy))
	n, err := e.DestroyOwner(context.Background(), "alice")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	assert.Equal(t, mark+2, e.Destroyed())
	for id, want := range map[string]bool{kept: false, byDestroy: true, byOwner: true} {
		got, known := e.DestroyedSince(id, mark)
		assert.True(t, known)
		assert.Equal(t, want, got, "got destroyed %v, want %v", got, want)
	}
	got, known := e.DestroyedSince(byDestroy, e.Destroyed())
	assert.True(t, known)
	assert.False(t, got, "got destroyed after a later mark")

	for range 256 {
		require.NoError(t, e.Destroy(context.Background(), mustCreate(t, e)))
	}
	_, known = e.DestroyedSince(byDestroy, mark)
	assert.False(t, known, "got known after more destroys than the engine remembers")
	_, known = e.DestroyedSince(byDestroy, e.Destroyed()+1)
	assert.False(t, known, "got known for a mark from the future")
}
