//go:build unix

package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/internal/testkit/enginekit"
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
		last = enginekit.Incr(context.Background(), e, id)
		return last == nil
	}, 30*time.Second, 50*time.Millisecond)
	require.True(t, ok, "Do after the server came back: last error %v", last)
}

var serverCfg = pgstore.Config{LeaseTTL: 2 * time.Second, StatementTimeout: time.Second}

func TestServerRestart(t *testing.T) {
	pg, tgs := ownServer(t)
	for _, tg := range tgs {
		t.Run(tg.name, func(t *testing.T) {
			n := outage(t, tg, "down", pg.Stop, func() { pg.Restart(t) })
			assert.Equal(t, 2, n, "the increments before and after the restart")
		})
	}
}

func TestStatementTimeoutWithServerPaused(t *testing.T) {
	pg, tgs := ownServer(t)
	for _, tg := range tgs {
		t.Run(tg.name, func(t *testing.T) {
			n := outage(t, tg, "paused",
				func() { require.NoError(t, pg.Pause()) },
				func() { require.NoError(t, pg.Resume()) })
			assert.True(t, n == 2 || n == 3, "increments: got %d, want 2 (or 3 if the paused server committed the timed-out write)", n)
		})
	}
}

// outage has an engine on tg increment a session, takes the server out
// with down, checks that a Do fails (within 15 seconds) while it is out (as
// what says), brings it back with up, and returns the counter once a Do
// succeeds again.
func outage(t *testing.T, tg target, what string, down, up func()) int {
	t.Helper()
	cfg := serverCfg
	cfg.Table = tableFor(t)
	e := tg.engine(t, cfg, engine.Config{PassivateAfter: time.Hour, LockTimeout: 5 * time.Second})
	ctx := context.Background()
	id, err := e.Create(ctx)
	require.NoError(t, err)
	require.NoError(t, enginekit.Incr(ctx, e, id))

	down()
	err = bounded(t, 15*time.Second, "Do with the server "+what, func() error { return enginekit.Incr(ctx, e, id) })
	up()
	assert.Error(t, err, "Do with the server %s", what)

	recovers(t, e, id)
	return enginekit.Counter(t, e, id)
}
