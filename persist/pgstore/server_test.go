//go:build unix

package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist/pgstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests that stop or pause the server run on servers of their own.

// ownServer starts a server for t and returns it with its two targets:
// directly and through a PgBouncer of its own.
func ownServer(t *testing.T) (*testkit.Postgres, []target) {
	t.Helper()
	targets(t) // skips (or fails) without PostgreSQL and PgBouncer
	pg := testkit.StartPostgres(t)
	b := testkit.StartPgBouncer(t, pg)
	return pg, []target{
		{name: "direct", dsn: pg.DSN()},
		{name: "pgbouncer", dsn: b.DSN(), simple: true},
	}
}

// bounded runs f and fails t if it does not return within limit.
func bounded(t *testing.T, limit time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("%s: still waiting after %v", what, limit)
		return nil
	}
}

// recovers does Do until it succeeds, failing t after limit.
func recovers(t *testing.T, e *engine.Engine, id string) {
	t.Helper()
	var last error
	ok := assert.Eventually(t, func() bool {
		last = incr(context.Background(), e, id)
		return last == nil
	}, 30*time.Second, 50*time.Millisecond)
	require.True(t, ok, "Do after the server came back: last error %v", last)
}

var serverCfg = pgstore.Config{LeaseTTL: 2 * time.Second, StatementTimeout: time.Second}

func TestServerRestart(t *testing.T) {
	pg, tgs := ownServer(t)
	for _, tg := range tgs {
		t.Run(tg.name, func(t *testing.T) {
			cfg := serverCfg
			cfg.Table = tableFor(t)
			e := tg.engine(t, cfg, engine.Config{PassivateAfter: time.Hour, LockTimeout: 5 * time.Second})
			ctx := context.Background()
			id, err := e.Create(ctx)
			require.NoError(t, err)
			require.NoError(t, incr(ctx, e, id))

			pg.Stop()
			err = bounded(t, 15*time.Second, "Do with the server down", func() error { return incr(ctx, e, id) })
			assert.Error(t, err, "Do with the server down")

			pg.Restart(t)
			recovers(t, e, id)
			assert.Equal(t, 2, counter(t, e, id), "the increments before and after the restart")
		})
	}
}

func TestStatementTimeoutWithServerPaused(t *testing.T) {
	pg, tgs := ownServer(t)
	for _, tg := range tgs {
		t.Run(tg.name, func(t *testing.T) {
			cfg := serverCfg
			cfg.Table = tableFor(t)
			e := tg.engine(t, cfg, engine.Config{PassivateAfter: time.Hour, LockTimeout: 5 * time.Second})
			ctx := context.Background()
			id, err := e.Create(ctx)
			require.NoError(t, err)
			require.NoError(t, incr(ctx, e, id))

			require.NoError(t, pg.Pause())
			err = bounded(t, 15*time.Second, "Do with the server paused", func() error { return incr(ctx, e, id) })
			require.NoError(t, pg.Resume())
			assert.Error(t, err, "Do with the server paused")

			recovers(t, e, id)
			n := counter(t, e, id)
			assert.True(t, n == 2 || n == 3, "increments: got %d, want 2 (or 3 if the paused server committed the timed-out write)", n)
		})
	}
}
