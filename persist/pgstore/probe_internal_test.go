//go:build unix

package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

// The probe finds that notifications arrive on a direct connection, and
// that they do not through PgBouncer in transaction pooling mode (where
// LISTEN succeeds and hears nothing): the Store then polls.
func TestProbe(t *testing.T) {
	pg := testkit.StartPostgres(t)
	b := testkit.StartPgBouncer(t, pg)
	for _, tc := range []struct {
		name, dsn string
		want      bool
	}{
		{"direct", pg.DSN(), true},
		{"pgbouncer", b.DSN(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(tc.dsn)
			require.NoError(t, err)
			cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			require.NoError(t, err)
			defer pool.Close()
			s, err := New(context.Background(), pool, Config{Table: "probe_" + tc.name})
			require.NoError(t, err)
			defer s.Close()
			require.Eventually(t, func() bool { return s.probes.Load() > 0 }, 10*time.Second, 5*time.Millisecond, "no probe done")
			assert.Equal(t, tc.want, s.listening.Load(), "notifications arrive")
		})
	}
}
