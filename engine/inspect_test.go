package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

func TestInspect(t *testing.T) {
	e := newEngine(t, nil, engine.Config{SweepInterval: -1})
	id := mustCreate(t, e)
	setOwner(t, e, id, "alice")
	set(t, e, id, "n", 7)
	info, values, err := e.Inspect(context.Background(), persist.Key(id))
	require.NoError(t, err)
	assert.Equal(t, "alice", info.Owner)
	assert.Equal(t, map[string]any{"n": 7}, values)
	_, _, err = e.Inspect(context.Background(), persist.Key("nobody"))
	assert.ErrorIs(t, err, engine.ErrNotFound)
}

// DestroyKey destroys a resident session and one held by no engine, each
// once, and reports SessionDestroyed for each.
func TestDestroyKey(t *testing.T) {
	runEvents(t, engine.Config{}, func(t *testing.T, open opener, e *engine.Engine, log *eventLog) {
		ctx := context.Background()
		resident := mustCreate(t, e)
		setOwner(t, e, resident, "a")
		other := open(t, engine.Config{SweepInterval: -1})
		stored := mustCreate(t, other)
		require.NoError(t, other.Close())
		for _, id := range []string{resident, stored} {
			ok, err := e.DestroyKey(ctx, persist.Key(id))
			require.NoError(t, err)
			assert.True(t, ok, "first DestroyKey")
			ok, err = e.DestroyKey(ctx, persist.Key(id))
			require.NoError(t, err)
			assert.False(t, ok, "second DestroyKey")
			assert.ErrorIs(t, e.Do(ctx, id, func(context.Context, *engine.Session) error { return nil }), engine.ErrNotFound)
		}
		require.NoError(t, e.Close())
		var destroyed []engine.Event
		for _, ev := range log.got(t) {
			if ev.Kind == engine.SessionDestroyed {
				destroyed = append(destroyed, ev)
			}
		}
		assert.Equal(t, []engine.Event{
			{Kind: engine.SessionDestroyed, Key: persist.Key(resident), Owner: "a"},
			{Kind: engine.SessionDestroyed, Key: persist.Key(stored)},
		}, destroyed)
	})
}

func TestMultiObserver(t *testing.T) {
	assert.Nil(t, engine.MultiObserver(nil, nil))
	one := &engine.Observer{}
	assert.Same(t, one, engine.MultiObserver(nil, one))
	var calls []string
	a := &engine.Observer{LockLost: func() { calls = append(calls, "a") }}
	b := &engine.Observer{LockLost: func() { calls = append(calls, "b") },
		TurnEnded: func(context.Context, engine.TurnInfo) { calls = append(calls, "b-turn") }}
	m := engine.MultiObserver(a, b)
	m.LockLost()
	m.TurnEnded(context.Background(), engine.TurnInfo{})
	assert.Nil(t, m.Committed, "no observer has it")
	assert.Equal(t, []string{"a", "b", "b-turn"}, calls)
}
