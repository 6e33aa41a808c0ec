package actor_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Keys lists the keys that have an actor, and no longer those that were
// passivated.
func TestKeys(t *testing.T) {
	c := newCounters()
	r := newRuntime(t, c.config())
	assert.Empty(t, slices.Collect(r.Keys()))
	for _, k := range []string{"b", "a"} {
		do(t, r, context.Background(), k, func(context.Context, *int) {})
	}
	keys := slices.Sorted(r.Keys())
	assert.Equal(t, []string{"a", "b"}, keys)
	for range r.Keys() {
		break // stopping early is allowed
	}
	require.NoError(t, r.Close())
	assert.Empty(t, slices.Collect(r.Keys()), "after Close")
}
