package engine_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// TestConfigRejected: configurations that cannot work are refused by
// Validate, New and Open, with an error naming the field.
func TestConfigRejected(t *testing.T) {
	for _, tc := range []struct {
		field string
		cfg   engine.Config
	}{
		{"IdleTimeout", engine.Config{IdleTimeout: math.MaxInt64}},
		{"IdleTimeout", engine.Config{IdleTimeout: engine.MaxDuration + 1}},
		{"IdleTimeout", engine.Config{IdleTimeout: -1}},
		{"Lifetime", engine.Config{Lifetime: math.MaxInt64}},
		{"Lifetime", engine.Config{Lifetime: -time.Hour}},
		{"PassivateAfter", engine.Config{PassivateAfter: math.MaxInt64}},
		{"PassivateAfter", engine.Config{PassivateAfter: -time.Second}},
		{"LockTimeout", engine.Config{LockTimeout: math.MaxInt64}},
		{"LockTimeout", engine.Config{LockTimeout: -time.Second}},
		{"SweepInterval", engine.Config{SweepInterval: math.MaxInt64}},
		{"MaxResident", engine.Config{MaxResident: -1}},
		{"Durability", engine.Config{Durability: 7}},
		{"Durability", engine.Config{Durability: -1}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.Error(t, err, "Validate(%+v)", tc.cfg)
			assert.ErrorContains(t, err, "Config."+tc.field, "the error does not name the field")
			_, err = engine.New(persist.NewMemory(), tc.cfg)
			assert.Error(t, err, "New accepted it")
			dir := t.TempDir() + "/sessions"
			_, err = engine.Open(dir, tc.cfg)
			assert.Error(t, err, "Open accepted it")
			assert.NoDirExists(t, dir, "Open created the directory of a rejected configuration")
		})
	}
}

// TestConfigLongest: the longest durations accepted work, also across a
// restart of the file store (a deadline that overflowed the stored
// nanoseconds would expire the session at its next load).
func TestConfigLongest(t *testing.T) {
	cfg := engine.Config{IdleTimeout: engine.MaxDuration, Lifetime: engine.MaxDuration, SweepInterval: -1}
	require.NoError(t, cfg.Validate())
	dir := t.TempDir()
	e, err := engine.Open(dir, cfg)
	require.NoError(t, err)
	id := mustCreate(t, e)
	set(t, e, id, "k", 1)
	require.NoError(t, e.Close())

	e, err = engine.Open(dir, cfg)
	require.NoError(t, err)
	defer e.Close()
	var got any
	err = e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		got, _ = s.Get("k")
		return nil
	})
	require.NoError(t, err, "the session did not survive the restart")
	assert.Equal(t, 1, got)
	rep, err := e.Sweep(context.Background())
	require.NoError(t, err)
	assert.Zero(t, rep.Expired, "the sweeper expired a live session")
}
