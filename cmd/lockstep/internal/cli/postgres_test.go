package cli_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/cmd/lockstep/internal/cli"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
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

// putPostgres stores a session of owner with values through st.
func putPostgres(t *testing.T, st *pgstore.Store, id, owner string, values map[string]any) {
	t.Helper()
	l, err := st.Lock(t.Context(), id, nil)
	require.NoError(t, err)
	var data bytes.Buffer
	require.NoError(t, gob.NewEncoder(&data).Encode(values))
	now := time.Now()
	require.NoError(t, l.Save(persist.Record{Created: now, Expires: now.Add(time.Hour), Owner: owner, Data: data.Bytes()}, false))
	require.NoError(t, l.Release())
}

// The commands over a PostgreSQL store that a live engine (its own pool
// and Store, as on another host) is using: ls lists its resident session
// as locked, rm and revoke get sessions handed over and destroy them, and
// the engine finds them gone.
func TestPostgresLiveStore(t *testing.T) {
	pg := testkit.StartPostgres(t)
	dsn := pg.DSN()
	alice := []string{testkit.NewID(), testkit.NewID()}
	bob := testkit.NewID()
	writer := pgStore(t, dsn)
	for _, id := range alice {
		putPostgres(t, writer, id, "alice", map[string]any{"n": 1})
	}
	putPostgres(t, writer, bob, "bob", map[string]any{"n": 5})

	eng, err := engine.New(pgStore(t, dsn), engine.Config{SweepInterval: -1, PassivateAfter: time.Hour})
	require.NoError(t, err)
	defer eng.Close()
	read := func(id string) (int, error) {
		var n int
		err := eng.Do(t.Context(), id, func(_ context.Context, s *engine.Session) error {
			n, _ = engine.Get[int](s, "n")
			return nil
		})
		return n, err
	}
	n, err := read(alice[0]) // resident in the engine, its lease held
	require.NoError(t, err)
	require.Equal(t, 1, n)

	r := pgRun(t, dsn, "ls", "-json")
	require.Equal(t, 0, r.code, r.err)
	listed := map[string]map[string]any{}
	for _, line := range r.lines() {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v), line)
		listed[v["key"].(string)] = v
	}
	require.Len(t, listed, 3, r.out)
	assert.Equal(t, "bob", listed[persist.Key(bob)]["owner"])
	assert.Equal(t, true, listed[persist.Key(alice[0])]["locked"], "the engine's resident session")
	assert.Equal(t, false, listed[persist.Key(alice[1])]["locked"])

	r = pgRun(t, dsn, "ls", "-owner", "alice")
	require.Equal(t, 0, r.code, r.err)
	assert.Len(t, r.lines(), 2, r.out)

	r = pgRun(t, dsn, "show", persist.Key(bob))
	require.Equal(t, 0, r.code, r.err)
	assert.Contains(t, r.out, "owner     bob")
	assert.Regexp(t, `n\s+int\s+5`, r.out)

	r = pgRun(t, dsn, "rm", persist.Key(bob))
	require.Equal(t, 0, r.code, r.err)
	r = pgRun(t, dsn, "show", persist.Key(bob))
	assert.Equal(t, 1, r.code, "show of a removed session: %s", r.out)

	r = pgRun(t, dsn, "revoke", "-owner", "alice")
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, "destroyed 2\n", r.out)
	for _, id := range append(alice, bob) {
		_, err := read(id)
		assert.ErrorIs(t, err, engine.ErrNotFound, "the engine's Do on a destroyed session")
	}

	r = pgRun(t, dsn, "sweep")
	require.Equal(t, 0, r.code, r.err)
	r = pgRun(t, dsn, "ls")
	require.Equal(t, 0, r.code, r.err)
	assert.Empty(t, r.out)
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
