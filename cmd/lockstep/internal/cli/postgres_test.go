package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/cmd/lockstep/internal/cli"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist/pgstore"
)

// pgStore returns a Store on its own pool of dsn, closed when the test
// ends.
func pgStore(t *testing.T, dsn string) *pgstore.Store {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st, err := pgstore.New(t.Context(), pool, pgstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// The commands over a PostgreSQL store that a live engine (its own pool
// and Store, as on another host) is using.
func TestPostgresLiveStore(t *testing.T) {
	pg := testkit.StartPostgres(t)
	dsn := pg.DSN()
	eng, err := engine.New(pgStore(t, dsn), engine.Config{SweepInterval: -1, PassivateAfter: time.Hour})
	require.NoError(t, err)
	defer eng.Close()
	checkLiveStore(t, liveStore{
		run:    func(args ...string) result { return pgRun(t, dsn, args...) },
		writer: pgStore(t, dsn),
		eng:    eng,
	})
}

// A DSN with a password is never shown.
func TestPostgresRedactsPassword(t *testing.T) {
	r := pgRun(t, "postgres://ann:s3cret@127.0.0.1:1/app?connect_timeout=1", "ls")
	assert.Equal(t, 1, r.code, r.err)
	assert.NotContains(t, r.err, "s3cret", "stderr")
	r = pgRun(t, "postgres://ann:s3cret@127.0.0.1:1/app?sslmode=bogus", "ls")
	assert.Equal(t, 2, r.code, r.err)
	assert.NotContains(t, r.err, "s3cret", "stderr")
}

// pgRun runs the command line with -postgres dsn and args in this process.
func pgRun(t *testing.T, dsn string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := cli.Main(t.Context(), "lockstep", append([]string{"-postgres", dsn}, args...), &out, &errb, cli.Backends()...)
	return result{out.String(), errb.String(), code}
}
