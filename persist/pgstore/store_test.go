//go:build unix

package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/pgstore"
	"github.com/lockstep-go/lockstep/persist/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		var n atomic.Int64
		base := tableFor(t)
		storetest.Run(t, func(t *testing.T) persist.Store {
			return tg.store(t, pgstore.Config{Table: fmt.Sprintf("%s_%d", base, n.Add(1))})
		}, storetest.HandsOver(), storetest.Patience(20*time.Second))
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	tg := targets(t)[0]
	p := tg.pool(t)
	for name, cfg := range map[string]pgstore.Config{
		"lease too short":   {LeaseTTL: time.Millisecond},
		"negative lease":    {LeaseTTL: -time.Second},
		"negative timeout":  {StatementTimeout: -time.Second},
		"three-part name":   {Table: "a.b.c"},
		"empty schema name": {Table: ".b"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := pgstore.New(context.Background(), p, cfg)
			if err == nil {
				s.Close()
			}
			assert.Error(t, err, "New(%+v): got no error, want one", cfg)
		})
	}
}

// Processes starting together create the table once, without errors.
func TestNewConcurrently(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		table := "s_" + tableFor(t) + "." + tableFor(t)
		_, err := tg.pool(t).Exec(context.Background(), "CREATE SCHEMA IF NOT EXISTS s_"+tableFor(t))
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			p := tg.pool(t)
			wg.Go(func() {
				s, err := pgstore.New(context.Background(), p, pgstore.Config{Table: table})
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			assert.NoError(t, err, "New number %d", i)
		}
	})
}

// The table holds the session's key, never its ID.
func TestSessionIDNeverStored(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		cfg := pgstore.Config{Table: tableFor(t)}
		e := tg.engine(t, cfg, engine.Config{})
		ctx := context.Background()
		id, err := e.Create(ctx)
		require.NoError(t, err)
		require.NoError(t, e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.SetOwner("ann")
			s.Set("n", 1)
			return nil
		}))
		rows, err := tg.pool(t).Query(ctx, "SELECT s::text FROM "+pgx.Identifier{cfg.Table}.Sanitize()+" AS s")
		require.NoError(t, err)
		dump, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Len(t, dump, 1, "rows")
		assert.Contains(t, dump[0], persist.Key(id), "the row: got no key")
		assert.NotContains(t, dump[0], id, "the row: got the session ID")
	})
}

// A held session holds no lock on the server: the lease is a row.
func TestHeldSessionHoldsNoServerLock(t *testing.T) {
	tg := targets(t)[0]
	ctx := context.Background()
	s := tg.store(t, pgstore.Config{Table: tableFor(t)})
	l, err := s.Lock(ctx, "held-session", nil)
	require.NoError(t, err)
	defer l.Release()
	require.NoError(t, l.Save(persist.Record{Data: []byte("x")}, false))
	var n int
	require.NoError(t, tg.pool(t).QueryRow(ctx,
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' OR (granted AND locktype IN ('tuple', 'transactionid') AND pid <> pg_backend_pid())").Scan(&n))
	assert.Zero(t, n, "locks held on the server while a session is held")
}

// New needs no CREATE privilege once the tables and indexes exist.
func TestNewWithoutCreatePrivilege(t *testing.T) {
	tg := targets(t)[0]
	ctx := context.Background()
	cfg := pgstore.Config{Table: tableFor(t)}
	tg.store(t, cfg) // as the owner: creates the tables
	admin := tg.pool(t)
	for _, stmt := range []string{
		`DO $$ BEGIN CREATE ROLE lockstep_app LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ` + pgx.Identifier{cfg.Table}.Sanitize() + `, ` +
			pgx.Identifier{cfg.Table + "_quarantine"}.Sanitize() + ` TO lockstep_app`,
	} {
		_, err := admin.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	var canCreate bool
	require.NoError(t, admin.QueryRow(ctx, `SELECT has_schema_privilege('lockstep_app', 'public', 'CREATE')`).Scan(&canCreate))
	require.False(t, canCreate, "the role may create in public: the test proves nothing")

	app := target{name: "app", dsn: strings.Replace(tg.dsn, "postgres@", "lockstep_app@", 1)}
	s := app.store(t, cfg)
	l, err := s.Lock(ctx, "a session", nil)
	require.NoError(t, err)
	require.NoError(t, l.Save(persist.Record{Data: []byte("x")}, false))
	require.NoError(t, l.Release())
}
