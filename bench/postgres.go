package main

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/pgstore"
)

// The PostgreSQL systems run on one private server that the suite starts
// (Run, through startPostgres) and whose connection string it passes to
// them, and to hand-over children, in this variable. Set it to use a server
// of your own.
const postgresDSNEnv = "LOCKSTEP_BENCH_POSTGRES"

// postgresNames are the session systems on PostgreSQL, compared in the
// workloads that apply to them.
var postgresNames = []string{"lockstep-postgres", "scs-pgxstore"}

func postgresSystems() []System {
	return []System{lockstepOver{"lockstep-postgres", openPostgresStore}, scsPgxstore{}, pgUpdateFloor{"pg-update", pgx.QueryExecModeExec},
		pgUpdateFloor{"pg-update-prepared", pgx.QueryExecModeCacheStatement}}
}

// needsPostgres reports whether a run of p includes a PostgreSQL system.
func needsPostgres(p Params) bool {
	return p.runs(func(s string) bool { return slices.Contains(postgresNames, s) || strings.HasPrefix(s, "pg-update") })
}

// postgresDSN returns the server's connection string, or errSkip.
func postgresDSN() (string, error) {
	if dsn := os.Getenv(postgresDSNEnv); dsn != "" {
		return dsn, nil
	}
	return "", fmt.Errorf("%w: no PostgreSQL server (install postgresql, or set %s)", errSkip, postgresDSNEnv)
}

// postgresTable names an instance's table by its directory, which a
// hand-over child shares with its parent.
func postgresTable(dir string) string {
	return "bench_" + strings.ReplaceAll(strings.ToLower(filepath.Base(dir)), "-", "_")
}

// startPostgres starts a private PostgreSQL server (fsync off) for the run,
// unless one is configured or none is installed (the PostgreSQL systems
// are then skipped), creates scs's table, and returns the func that stops
// the server.
func startPostgres(log io.Writer) func() {
	if os.Getenv(postgresDSNEnv) != "" {
		return func() {}
	}
	if testkit.PostgresBin() == "" {
		fmt.Fprintln(log, "bench: no PostgreSQL server installed: the PostgreSQL systems are skipped")
		return func() {}
	}
	pg, err := testkit.NewPostgres()
	if err == nil {
		err = createScsTable(pg.DSN())
	}
	if err != nil {
		if pg != nil {
			pg.Close()
		}
		fmt.Fprintf(log, "bench: cannot start PostgreSQL (%v): the PostgreSQL systems are skipped\n", err)
		return func() {}
	}
	_ = os.Setenv(postgresDSNEnv, pg.DSN()) // for the systems and for hand-over children
	return func() {
		_ = os.Unsetenv(postgresDSNEnv)
		pg.Close()
	}
}

// createScsTable creates the table scs's pgxstore uses, as its README says.
func createScsTable(dsn string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry)`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// newPGPool returns a pool on the suite's server.
func newPGPool() (*pgxpool.Pool, error) {
	dsn, err := postgresDSN()
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 16
	return pgxpool.NewWithConfig(context.Background(), cfg)
}

// openPostgresStore returns persist/pgstore on the suite's server, in a
// table of dir's, and the function that closes its pool.
func openPostgresStore(dir string, logger *slog.Logger) (persist.Store, func() error, error) {
	pool, err := newPGPool()
	if err != nil {
		return nil, nil, err
	}
	store, err := pgstore.New(context.Background(), pool, pgstore.Config{Table: postgresTable(dir), Logger: logger})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return store, func() error { pool.Close(); return nil }, nil
}

// scsPgxstore is alexedwards/scs with its pgx store, as scs-memstore but
// with every load and commit a round trip to PostgreSQL.
type scsPgxstore struct{}

func (scsPgxstore) Name() string { return "scs-pgxstore" }

func (scsPgxstore) Open(string) (Instance, error) {
	pool, err := newPGPool()
	if err != nil {
		return nil, err
	}
	sm := scs.New()
	sm.Store = pgxstore.NewWithCleanupInterval(pool, 0) // no cleanup goroutine to leak
	sm.IdleTimeout = time.Hour
	sm.Cookie.Name = cookieName
	return &scsPGInst{scsInst: &scsInst{sm: sm}, pool: pool}, nil
}

type scsPGInst struct {
	*scsInst
	pool *pgxpool.Pool
}

func (i *scsPGInst) Close() error { i.pool.Close(); return nil }

// pgUpdateFloor is no session system: each Write is one bare UPDATE of a
// row by its primary key, setting the bytes lockstep stores for the
// workload's session, the floor of a write that must reach PostgreSQL.
// pg-update sends it as lockstep-postgres sends its statements
// (QueryExecModeExec: parsed and planned each time, no prepared statement,
// as PgBouncer's transaction pooling needs), pg-update-prepared as a
// prepared statement that pgx caches per connection (pgx's default).
type pgUpdateFloor struct {
	name string
	mode pgx.QueryExecMode
}

func (f pgUpdateFloor) Name() string { return f.name }

func (f pgUpdateFloor) Open(dir string) (Instance, error) {
	pool, err := newPGPool()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(map[string]any{counterKey: 1}); err != nil {
		pool.Close()
		return nil, err
	}
	table := pgx.Identifier{postgresTable(dir) + "_" + strings.ReplaceAll(f.name, "-", "_")}.Sanitize()
	if _, err := pool.Exec(context.Background(), "CREATE TABLE IF NOT EXISTS "+table+" (key text PRIMARY KEY, data bytea NOT NULL)"); err != nil {
		pool.Close()
		return nil, err
	}
	return &pgUpdateInst{pool: pool, data: buf.Bytes(), mode: f.mode,
		insert: "INSERT INTO " + table + " (key, data) VALUES ($1, $2)",
		read:   "SELECT data FROM " + table + " WHERE key = $1",
		update: "UPDATE " + table + " SET data = $2 WHERE key = $1",
	}, nil
}

type pgUpdateInst struct {
	pool                 *pgxpool.Pool
	mode                 pgx.QueryExecMode
	data                 []byte
	insert, read, update string
}

func (i *pgUpdateInst) Create(ctx context.Context) (string, error) {
	id := newToken()
	_, err := i.pool.Exec(ctx, i.insert, i.mode, id, i.data)
	return id, err
}

func (i *pgUpdateInst) Read(ctx context.Context, id string) error {
	var b []byte
	return i.pool.QueryRow(ctx, i.read, i.mode, id).Scan(&b)
}

func (i *pgUpdateInst) Write(ctx context.Context, id string) error {
	_, err := i.pool.Exec(ctx, i.update, i.mode, id, i.data)
	return err
}

func (i *pgUpdateInst) Update(context.Context, string, func(Values) error) error {
	return errors.New("pg-update: a floor, not a session system")
}

func (i *pgUpdateInst) Handler(App) http.Handler { return http.NotFoundHandler() }

func (i *pgUpdateInst) Close() error { i.pool.Close(); return nil }

// postgres adds the targets for the PostgreSQL store.
func (ts *targetList) postgres(rs *Results) {
	ts.writeRatio(rs, "Postgres store: a write Do vs a bare UPDATE of the same bytes (unprepared, as the store sends it)", "≤ 1.5x", "lockstep-postgres", "pg-update", 1.5)
	x, ok1 := rs.Lookup("do-write", "lockstep-postgres", "serial")
	y, ok2 := rs.Lookup("do-write", "pg-update-prepared", "serial")
	*ts = append(*ts, Target{What: "Postgres store: a write Do vs a bare prepared UPDATE (for reference)", Want: "report",
		Measured: measured(ok1 && ok2, fmt.Sprintf("%.2fx (%.1f µs vs %.1f µs)", x/y, x/1e3, y/1e3)), Met: ok1 && ok2})
	ts.sharedStore(rs, "Postgres store", "lockstep-postgres", "scs-pgxstore", 5, 0.03)
}
