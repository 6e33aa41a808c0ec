package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lockstep-go/lockstep/persist/pgstore"
)

// postgresConns is the command's pool size: it runs one command at a
// time, and each Store opens one more connection for its listener.
const postgresConns = 4

// Postgres returns the Backend of a PostgreSQL store (persist/pgstore),
// -postgres DSN [-table T]: DSN is a connection string in either of the
// forms pgx reads (postgres://USER:PASS@HOST:PORT/DB?sslmode=..., or
// "host=... user=... dbname=..."), also PgBouncer's address; T is the
// store's Config.Table.
func Postgres() Backend {
	return Backend{
		Name:     "postgres",
		Arg:      "DSN",
		Usage:    "the PostgreSQL database: postgres://[USER[:PASS]@]HOST[:PORT]/DB[?...] or \"host=... dbname=...\"",
		Synopsis: "-postgres DSN [-table T]",
		Redact:   redactDSN,
		Flags: func(fs *flag.FlagSet) Opener {
			table := fs.String("table", pgstore.DefaultTable, "with -postgres: the store's table, schema-qualified or not (its Config.Table)")
			return func(ctx context.Context, dsn string, log *slog.Logger) (Store, error) {
				cfg, err := pgxpool.ParseConfig(dsn)
				if err != nil {
					return nil, Usagef("-postgres: %v", err) // pgx leaves the password out
				}
				cfg.MaxConns = postgresConns
				pool, err := pgxpool.NewWithConfig(ctx, cfg)
				if err != nil {
					return nil, fmt.Errorf("-postgres %s: %w", redactDSN(dsn), err)
				}
				pctx, cancel := context.WithTimeout(ctx, dialTimeout)
				defer cancel()
				if err := pool.Ping(pctx); err != nil {
					pool.Close()
					return nil, fmt.Errorf("-postgres %s: %w", redactDSN(dsn), err)
				}
				st, err := pgstore.New(ctx, pool, pgstore.Config{Table: *table, Logger: log})
				if err != nil {
					pool.Close()
					return nil, err
				}
				return &postgresStore{Store: st, pool: pool}, nil
			}
		},
	}
}

// redactDSN returns the server and database of dsn, as messages show it:
// never its password.
func redactDSN(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "DSN"
	}
	return fmt.Sprintf("postgres://%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// postgresStore is the PostgreSQL store with the pool it owns: Close
// closes both.
type postgresStore struct {
	*pgstore.Store
	pool *pgxpool.Pool
}

func (s *postgresStore) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}
