//go:build unix

package pgstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist/pgstore"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The package's tests share one PostgreSQL server and one PgBouncer in
// transaction pooling mode in front of it, started by TestMain; tests that
// restart or pause a server start their own. Each test uses tables of its
// own.
var (
	shared    *testkit.Postgres
	sharedBnc *testkit.PgBouncer
	startErr  error
)

func TestMain(m *testing.M) {
	if role := testkit.Role(); role != "" {
		os.Exit(runChild(role)) // a child process of the cross-process tests
	}
	if testkit.PostgresBin() != "" {
		shared, startErr = testkit.NewPostgres()
		if startErr == nil && testkit.HavePgBouncer() {
			sharedBnc, startErr = testkit.NewPgBouncer(shared)
		}
	} else if os.Getenv(testkit.RequirePostgresEnv) != "1" {
		fmt.Fprintln(os.Stderr, "pgstore: no PostgreSQL server installed, so the store's tests are skipped "+
			"(install postgresql and pgbouncer, or set "+testkit.RequirePostgresEnv+"=1 to make this an error)")
	}
	code := m.Run()
	if sharedBnc != nil {
		sharedBnc.Close()
	}
	if shared != nil {
		shared.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// target is a way to the server: directly, or through PgBouncer (then the
// application's pool uses the simple protocol, as PgBouncer's
// documentation says).
type target struct {
	name   string
	dsn    string
	simple bool
}

// targets returns the shared server, directly and through PgBouncer,
// skipping t (or failing it, with LOCKSTEP_REQUIRE_POSTGRES=1) without
// them.
func targets(t *testing.T) []target {
	t.Helper()
	if shared == nil || sharedBnc == nil {
		why := "no PostgreSQL server and PgBouncer installed"
		if startErr != nil {
			why = startErr.Error()
		}
		if os.Getenv(testkit.RequirePostgresEnv) == "1" {
			t.Fatal(why + " and " + testkit.RequirePostgresEnv + "=1")
		}
		t.Skip(why)
	}
	return []target{
		{name: "direct", dsn: shared.DSN()},
		{name: "pgbouncer", dsn: sharedBnc.DSN(), simple: true},
	}
}

// each runs f for each target, as a subtest.
func each(t *testing.T, f func(t *testing.T, tg target)) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) { f(t, tg) })
	}
}

// pool returns a pool on tg, closed when the test ends.
func (tg target) pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	p, err := newPool(tg.dsn, tg.simple)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

func newPool(dsn string, simple bool) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if simple {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	cfg.MaxConns = 8
	return pgxpool.NewWithConfig(context.Background(), cfg)
}

// store returns a Store on a new pool of tg, closed when the test ends.
func (tg target) store(t testing.TB, cfg pgstore.Config) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(context.Background(), tg.pool(t), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// engine returns an engine over a new Store of tg, closed when the test
// ends.
func (tg target) engine(t testing.TB, scfg pgstore.Config, cfg engine.Config) *engine.Engine {
	t.Helper()
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = -1
	}
	if cfg.LockTimeout == 0 {
		cfg.LockTimeout = 20 * time.Second
	}
	e, err := engine.New(tg.store(t, scfg), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// tableFor returns a table name of the test's own, the same for every call
// in one test, and new for each run of it (go test -count).
func tableFor(t testing.TB) string {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if name, ok := tables[t]; ok {
		return name
	}
	sum := sha256.Sum256([]byte(t.Name()))
	name := fmt.Sprintf("t_%s_%d", hex.EncodeToString(sum[:6]), len(tables))
	tables[t] = name
	return name
}

var (
	tablesMu sync.Mutex                // guards tables
	tables   = map[testing.TB]string{} // by test: its table
)

// count returns the number of rows of table whose data is not NULL.
func count(t testing.TB, tg target, table string) int {
	t.Helper()
	var n int
	require.NoError(t, tg.pool(t).QueryRow(context.Background(),
		"SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()+" WHERE data IS NOT NULL").Scan(&n))
	return n
}
