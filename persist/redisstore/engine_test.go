package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit/enginekit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The engine's behaviour over Redis, with two engines (two Stores, two
// clients) standing in for two hosts.

func newEngine(t *testing.T, srv *server, scfg redisstore.Config, cfg engine.Config) *engine.Engine {
	t.Helper()
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = -1
	}
	e, err := engine.New(srv.store(t, scfg), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

func TestEngineConcurrentIncrementsAcrossEngines(t *testing.T) {
	srv := startRedis(t)
	e1 := newEngine(t, srv, redisstore.Config{}, engine.Config{})
	e2 := newEngine(t, srv, redisstore.Config{}, engine.Config{})
	enginekit.IncrementTogether(t, 4, 25, e1, e2)
}

// handOverPair returns two engines on one Redis and a session created by
// the first. Leases and passivation are far longer than the lock timeout:
// only the hand-over can let the other engine in.
func handOverPair(t *testing.T) (e1, e2 *engine.Engine, id string) {
	t.Helper()
	srv := startRedis(t)
	scfg := redisstore.Config{LeaseTTL: time.Hour}
	cfg := engine.Config{PassivateAfter: time.Hour, LockTimeout: 5 * time.Second}
	e1 = newEngine(t, srv, scfg, cfg)
	e2 = newEngine(t, srv, scfg, cfg)
	id, err := e1.Create(context.Background())
	require.NoError(t, err)
	return e1, e2, id
}

func TestEngineHandOverIdleSession(t *testing.T) {
	e1, e2, id := handOverPair(t)
	ctx := context.Background()
	for range 5 {
		require.NoError(t, enginekit.Incr(ctx, e1, id))
		require.NoError(t, enginekit.Incr(ctx, e2, id))
	}
	assert.Equal(t, 10, enginekit.Counter(t, e1, id))
}

func TestEngineCountsHandOvers(t *testing.T) {
	e1, e2, id := handOverPair(t)
	ctx := context.Background()
	require.NoError(t, enginekit.Incr(ctx, e1, id)) // resident in e1

	require.NoError(t, enginekit.Incr(ctx, e2, id)) // e1 hands it over
	st := e2.Stats()
	assert.Equal(t, uint64(1), st.HandOversTaken)
	assert.Positive(t, st.HandOverWait)
	assert.Zero(t, e1.Stats().HandOversTaken, "e1 took the session without waiting")
}

func TestEngineRegenerateAndDestroyKillTheOldIDEverywhere(t *testing.T) {
	srv := startRedis(t)
	e1 := newEngine(t, srv, redisstore.Config{}, engine.Config{})
	e2 := newEngine(t, srv, redisstore.Config{}, engine.Config{})
	ctx := context.Background()
	id, err := e1.Create(ctx)
	require.NoError(t, err)
	require.NoError(t, enginekit.Incr(ctx, e1, id))
	require.NoError(t, enginekit.Incr(ctx, e2, id)) // e2 holds it now

	newID, err := e1.Regenerate(ctx, id)
	require.NoError(t, err)
	assert.ErrorIs(t, enginekit.Incr(ctx, e2, id), engine.ErrNotFound)
	assert.ErrorIs(t, enginekit.Incr(ctx, e1, id), engine.ErrNotFound)
	assert.Equal(t, 2, enginekit.Counter(t, e2, newID))

	require.NoError(t, e2.Destroy(ctx, newID))
	assert.ErrorIs(t, enginekit.Incr(ctx, e1, newID), engine.ErrNotFound)
	assert.ErrorIs(t, enginekit.Incr(ctx, e2, newID), engine.ErrNotFound)
	assert.Zero(t, srv.count(t, srv.client(t)), "no key is left behind")
}

func TestEngineDropsASessionWhoseLeaseWasLost(t *testing.T) {
	srv := startRedis(t)
	e1 := newEngine(t, srv, redisstore.Config{}, engine.Config{PassivateAfter: time.Hour})
	e2 := newEngine(t, srv, redisstore.Config{}, engine.Config{})
	c := srv.client(t)
	ctx := context.Background()
	id, err := e1.Create(ctx)
	require.NoError(t, err)
	require.NoError(t, enginekit.Incr(ctx, e1, id)) // resident in e1, n = 1

	// A failover loses e1's lease; e2 gets in and writes.
	require.NoError(t, c.Del(ctx, lockKey(id)).Err())
	require.NoError(t, e2.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		s.Set("n", 100)
		return nil
	}))
	require.NoError(t, e2.Close()) // release it

	err = enginekit.Incr(ctx, e1, id)
	if err != nil { // unless the renewer noticed first and e1 let go
		require.ErrorIs(t, err, persist.ErrLockLost)
		require.NoError(t, enginekit.Incr(ctx, e1, id), "the next Do locks and loads afresh")
	}
	assert.Equal(t, 101, enginekit.Counter(t, e1, id))
}

func TestEngineSurvivesRedisRestart(t *testing.T) {
	srv := startRedis(t)
	e := newEngine(t, srv, redisstore.Config{}, engine.Config{LockTimeout: 5 * time.Second})
	ctx := context.Background()
	id, err := e.Create(ctx)
	require.NoError(t, err)
	require.NoError(t, enginekit.Incr(ctx, e, id))

	srv.Stop()
	ctx10, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = enginekit.Incr(ctx10, e, id)
	require.Error(t, err, "a write with Redis down fails")
	assert.NoError(t, ctx10.Err(), "and fails fast: %v", err)
	_, err = e.Create(ctx10)
	require.Error(t, err)
	assert.NoError(t, ctx10.Err(), "and fails fast: %v", err)

	srv.Restart(t) // empty: persistence is off
	newID, err := e.Create(ctx)
	require.NoError(t, err, "the engine works again once Redis is back")
	require.NoError(t, enginekit.Incr(ctx, e, newID))
	assert.Equal(t, 1, enginekit.Counter(t, e, newID))
	// The old session died with Redis's data; the engine lets go of it.
	for i := 0; ; i++ {
		err = enginekit.Incr(ctx, e, id)
		if errors.Is(err, engine.ErrNotFound) {
			break
		}
		require.ErrorIs(t, err, persist.ErrLockLost)
		require.Less(t, i, 1, "one lost lease, then not found")
	}
}
