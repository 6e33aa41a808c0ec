package pgstore_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist/pgstore"
)

// An engine over PostgreSQL: every host that runs this shares the sessions.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(ctx, pool, pgstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	eng, err := engine.New(store, engine.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	id, err := eng.Create(ctx)
	if err != nil {
		log.Fatal(err)
	}
	err = eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		n, _ := engine.Get[int](s, "visits")
		s.Set("visits", n+1)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Behind PgBouncer in transaction pooling mode, the application's pool uses
// the simple protocol; the store needs nothing else.
func Example_pgBouncer() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig("postgres://app@pgbouncer.internal:6432/app")
	if err != nil {
		log.Fatal(err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(ctx, pool, pgstore.Config{Table: "sessions.lockstep"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	// engine.New(store, ...) as above.
}
