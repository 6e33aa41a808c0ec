package main

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist/pgstore"
)

// openBackend is openEngine, or openPostgres when pgDSN is not empty.
func openBackend(ctx context.Context, dir, redisAddr, pgDSN string, obs *observability) (*engine.Engine, string, func() error, error) {
	if pgDSN == "" {
		return openEngine(dir, redisAddr, obs)
	}
	cfg, err := engineConfig(obs)
	if err != nil {
		return nil, "", nil, err
	}
	return openPostgres(ctx, pgDSN, cfg)
}

// openPostgres returns the application's engine over the PostgreSQL
// database at dsn (the table lockstep_sessions, created if missing), where
// the sessions are (the server, without credentials), and the function
// that closes the engine, the store and the pool, in that order.
func openPostgres(ctx context.Context, dsn string, cfg engine.Config) (*engine.Engine, string, func() error, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, "", nil, err
	}
	store, err := pgstore.New(ctx, pool, pgstore.Config{})
	if err != nil {
		pool.Close()
		return nil, "", nil, err
	}
	eng, err := engine.New(store, cfg)
	if err != nil {
		store.Close()
		pool.Close()
		return nil, "", nil, err
	}
	closeAll := func() error {
		err := errors.Join(eng.Close(), store.Close())
		pool.Close()
		return err
	}
	conn := pool.Config().ConnConfig
	return eng, "postgres://" + conn.Host + "/" + conn.Database, closeAll, nil
}
