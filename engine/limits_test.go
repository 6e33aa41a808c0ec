package engine_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// limits returns the session's effective idle timeout and lifetime.
func limits(t testing.TB, e *engine.Engine, id string) (idle, lifetime time.Duration) {
	t.Helper()
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		idle, lifetime = s.IdleTimeout(), s.Lifetime()
		return nil
	}))
	return idle, lifetime
}

func setLimits(t testing.TB, e *engine.Engine, id string, idle, lifetime time.Duration) {
	t.Helper()
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.SetIdleTimeout(idle)
		s.SetLifetime(lifetime)
		return nil
	}))
}

// A "remember me" session lives past the engine's IdleTimeout, up to its
// own, across passivations and a restart; an ordinary one does not.
func TestRememberMe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := persist.NewMemory()
		cfg := engine.Config{IdleTimeout: time.Minute, MaxIdleTimeout: time.Hour, PassivateAfter: 10 * time.Second, SweepInterval: -1}
		e := newEngine(t, store, cfg)
		remembered, ordinary := mustCreate(t, e), mustCreate(t, e)
		setLimits(t, e, remembered, 30*time.Minute, 0)
		idle, lifetime := limits(t, e, remembered)
		assert.Equal(t, 30*time.Minute, idle)
		assert.Zero(t, lifetime)
		idle, _ = limits(t, e, ordinary)
		assert.Equal(t, time.Minute, idle)
		require.NoError(t, e.Close())

		e2 := newEngine(t, store, cfg)
		time.Sleep(20 * time.Minute) // passivated long ago, past the engine's IdleTimeout
		idle, _ = limits(t, e2, remembered)
		assert.Equal(t, 30*time.Minute, idle, "after a restart")
		assert.ErrorIs(t, increment(context.Background(), e2, ordinary), engine.ErrNotFound)

		time.Sleep(30 * time.Minute)
		assert.ErrorIs(t, increment(context.Background(), e2, remembered), engine.ErrNotFound, "past its own idle timeout")
	})
}

// Per-session limits are capped by the engine's maxima, which default to
// IdleTimeout and Lifetime: by default a session can shorten its limits,
// not lengthen them. d <= 0 gives the session the engine's again.
func TestLimitsBounded(t *testing.T) {
	tests := []struct {
		name               string
		cfg                engine.Config
		idle, life         time.Duration // asked for
		wantIdle, wantLife time.Duration
	}{
		{"defaults, longer", engine.Config{IdleTimeout: time.Minute}, time.Hour, time.Hour, time.Minute, time.Hour},
		{"defaults, shorter", engine.Config{IdleTimeout: time.Minute, Lifetime: time.Hour}, time.Second, time.Minute, time.Second, time.Minute},
		{"lifetime capped", engine.Config{Lifetime: time.Hour}, 0, 2 * time.Hour, engine.DefaultIdleTimeout, time.Hour},
		{"maxima", engine.Config{IdleTimeout: time.Minute, MaxIdleTimeout: time.Hour, Lifetime: time.Hour, MaxLifetime: 24 * time.Hour},
			2 * time.Hour, 48 * time.Hour, time.Hour, 24 * time.Hour},
		{"reset", engine.Config{IdleTimeout: time.Minute, Lifetime: time.Hour}, -1, 0, time.Minute, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, nil, tt.cfg)
			id := mustCreate(t, e)
			setLimits(t, e, id, tt.idle, tt.life)
			idle, life := limits(t, e, id)
			assert.Equal(t, tt.wantIdle, idle, "idle timeout")
			assert.Equal(t, tt.wantLife, life, "lifetime")
		})
	}
}

// A session's own lifetime ends it however busy it is, resident or loaded
// again after passivation.
func TestOwnLifetime(t *testing.T) {
	for _, passivate := range []time.Duration{5 * time.Second, time.Hour} {
		t.Run(passivate.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEngine(t, nil, engine.Config{IdleTimeout: time.Minute, PassivateAfter: passivate, SweepInterval: -1})
				id := mustCreate(t, e)
				setLimits(t, e, id, 0, 2*time.Minute)
				for range 3 {
					time.Sleep(30 * time.Second)
					require.NoError(t, increment(context.Background(), e, id))
				}
				time.Sleep(31 * time.Second)
				assert.ErrorIs(t, increment(context.Background(), e, id), engine.ErrNotFound)
			})
		})
	}
}

// Limits are journaled (rolled back with the turn) and, whatever the
// Durability, written with the stored expiry when the turn commits.
func TestLimitsJournaledAndWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := persist.NewMemory()
		e := newEngine(t, store, engine.Config{IdleTimeout: time.Minute, MaxIdleTimeout: time.Hour, Durability: engine.OnPassivate, PassivateAfter: time.Hour, SweepInterval: -1})
		id := mustCreate(t, e)
		err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			s.SetIdleTimeout(time.Hour)
			assert.Equal(t, time.Hour, s.IdleTimeout())
			assert.Equal(t, time.Now().Add(time.Hour), s.Expires())
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		idle, _ := limits(t, e, id)
		assert.Equal(t, time.Minute, idle, "rolled back")

		setLimits(t, e, id, time.Hour, 0)
		rec, ok := stored(t, store, id)
		require.True(t, ok)
		// A resident session's stored expiry runs ahead by an eighth of its
		// idle timeout (so that reads need not write).
		assert.Equal(t, time.Now().Add(time.Hour+time.Hour/8), rec.Expires, "the stored expiry follows at commit")
	})
}

// Data written before session limits existed (the values alone, gob
// encoded) still loads.
func TestDataWithoutEnvelope(t *testing.T) {
	store := persist.NewMemory()
	e := newEngine(t, store, engine.Config{})
	id := mustCreate(t, e)
	require.NoError(t, e.Close())

	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(map[string]any{"n": 41}))
	l, err := store.Lock(context.Background(), id, nil)
	require.NoError(t, err)
	rec, err := l.Load()
	require.NoError(t, err)
	rec.Data = buf.Bytes()
	rec.Owner = "alice"
	require.NoError(t, l.Save(rec, false))
	require.NoError(t, l.Release())

	e2 := newEngine(t, store, engine.Config{})
	require.NoError(t, increment(context.Background(), e2, id))
	assert.Equal(t, 42, get(t, e2, id, "n"))
	assert.Equal(t, "alice", owner(t, e2, id))
}

// The maxima cannot be shorter than what every session gets.
func TestLimitsConfig(t *testing.T) {
	for _, cfg := range []engine.Config{
		{IdleTimeout: time.Hour, MaxIdleTimeout: time.Minute},
		{Lifetime: time.Hour, MaxLifetime: time.Minute},
		{MaxIdleTimeout: -1},
		{MaxLifetime: -1},
	} {
		_, err := engine.New(persist.NewMemory(), cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	e := newEngine(t, nil, engine.Config{IdleTimeout: time.Minute})
	assert.Equal(t, time.Minute, e.Config().MaxIdleTimeout, "defaults to IdleTimeout")
	assert.Zero(t, e.Config().MaxLifetime)
}
