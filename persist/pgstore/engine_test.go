//go:build unix

package pgstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/internal/testkit/enginekit"
	"github.com/lockstep-go/lockstep/persist/pgstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// child starts a child process in role on tg's server, table and session
// id; it is killed when the test ends if it is still running.
func child(t *testing.T, tg target, table, role, id string, env ...string) *testkit.Child {
	t.Helper()
	simple := "0"
	if tg.simple {
		simple = "1"
	}
	return testkit.StartT(t, role, append([]string{"LOCKSTEP_PG_DSN=" + tg.dsn, "LOCKSTEP_PG_SIMPLE=" + simple,
		"LOCKSTEP_PG_TABLE=" + table, "LOCKSTEP_ID=" + id}, env...)...)
}

// createSession creates a session with a short-lived engine of the test
// process, which keeps nothing of it.
func createSession(t *testing.T, tg target, table string) string {
	t.Helper()
	e, err := engine.New(tg.store(t, pgstore.Config{Table: table}), engine.Config{SweepInterval: -1})
	require.NoError(t, err)
	defer e.Close()
	id, err := e.Create(context.Background())
	require.NoError(t, err)
	return id
}

func TestProcessesIncrementWithoutLoss(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		table := tableFor(t)
		id := createSession(t, tg, table)
		const procs, n = 3, 40
		children := make([]*testkit.Child, procs)
		for i := range children {
			children[i] = child(t, tg, table, "increment", id, "LOCKSTEP_N="+strconv.Itoa(n))
		}
		for _, c := range children {
			require.Equal(t, "ready", c.Line(t))
		}
		for _, c := range children {
			require.NoError(t, c.Send("go"))
		}
		handovers := 0
		for _, c := range children {
			line := c.Line(t)
			require.NoError(t, c.Wait())
			k, err := strconv.Atoi(strings.TrimPrefix(line, "handovers "))
			require.NoError(t, err, "child said %q", line)
			handovers += k
		}
		e := tg.engine(t, pgstore.Config{Table: table}, engine.Config{})
		assert.Equal(t, procs*n, enginekit.Counter(t, e, id), "increments")
		t.Logf("%d increments by %d processes, %d hand-overs", procs*n, procs, handovers)
	})
}

func TestEnginesIncrementWithoutLoss(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		cfg := pgstore.Config{Table: tableFor(t)}
		enginekit.IncrementTogether(t, 3, 15, tg.engine(t, cfg, engine.Config{}), tg.engine(t, cfg, engine.Config{}))
	})
}

// handOverPair returns two engines on a table of the test's own. Leases
// (a minute) and passivation are far longer than the lock timeout: only a
// hand-over can let the other engine in.
func handOverPair(t *testing.T, tg target) (e1, e2 *engine.Engine, table string) {
	t.Helper()
	table = tableFor(t)
	cfg := pgstore.Config{Table: table, LeaseTTL: time.Minute}
	ecfg := engine.Config{PassivateAfter: time.Hour, LockTimeout: 10 * time.Second}
	return tg.engine(t, cfg, ecfg), tg.engine(t, cfg, ecfg), table
}

// An idle holder hands over when asked: with a lease of a minute, the
// second engine gets the session only through a hand-over.
func TestIdleHandOver(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		e1, e2, _ := handOverPair(t, tg)
		ctx := context.Background()
		id, err := e1.Create(ctx)
		require.NoError(t, err)
		for i := range 6 {
			e := []*engine.Engine{e1, e2}[i%2]
			require.NoError(t, enginekit.Incr(ctx, e, id), "Do number %d", i)
		}
		assert.Equal(t, 6, enginekit.Counter(t, e2, id))
		assert.GreaterOrEqual(t, e1.Stats().HandOversTaken+e2.Stats().HandOversTaken, uint64(5), "hand-overs")
	})
}

func TestKilledHolderIsTakenOverAfterItsLease(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		enginekit.KilledHolderIsTakenOver(t, holderChild(t, tg, "hold"))
	})
}

func TestPausedHolderCannotOverwriteWhenItResumes(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		enginekit.PausedHolderCannotOverwrite(t, holderChild(t, tg, "stall"))
	})
}

// holderChild starts a child in role (of enginekit.RunHolderRole) with a
// lease of 500ms on a session in a table of the test's own, and returns
// it with a func that makes an engine on that table.
func holderChild(t *testing.T, tg target, role string) enginekit.Holder {
	t.Helper()
	table := tableFor(t)
	id := createSession(t, tg, table)
	c := child(t, tg, table, role, id, "LOCKSTEP_LEASE=500ms")
	return enginekit.Holder{Child: c, ID: id, NewEngine: func() *engine.Engine {
		return tg.engine(t, pgstore.Config{Table: table}, engine.Config{LockTimeout: 10 * time.Second})
	}}
}

func TestRegenerateAndDestroyAcrossEngines(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		e1, e2, table := handOverPair(t, tg)
		ctx := context.Background()
		id, err := e1.Create(ctx)
		require.NoError(t, err)
		require.NoError(t, enginekit.Incr(ctx, e1, id))

		// e1 holds the session; e2 regenerates it.
		newID, err := e2.Regenerate(ctx, id)
		require.NoError(t, err)
		assert.ErrorIs(t, enginekit.Incr(ctx, e1, id), engine.ErrNotFound, "Do on the old ID in the first engine")
		assert.Equal(t, 1, enginekit.Counter(t, e1, newID), "the new ID in the first engine")

		// e1 holds the new ID; e2 destroys it.
		require.NoError(t, e2.Destroy(ctx, newID))
		assert.ErrorIs(t, enginekit.Incr(ctx, e1, newID), engine.ErrNotFound, "Do on the destroyed ID in the first engine")
		assert.Zero(t, count(t, tg, table), "rows with a record")
	})
}

func TestDestroyOwnerAcrossEngines(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		e1, e2, table := handOverPair(t, tg)
		ctx := context.Background()
		var alice []string
		for i := range 4 {
			id, err := e1.Create(ctx)
			require.NoError(t, err)
			owner := "alice"
			if i == 3 {
				owner = "bob"
			} else {
				alice = append(alice, id)
			}
			require.NoError(t, e1.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
				s.SetOwner(owner)
				return nil
			}))
		}
		n, err := e2.DestroyOwner(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, len(alice), n, "destroyed")
		for _, id := range alice {
			assert.ErrorIs(t, enginekit.Incr(ctx, e1, id), engine.ErrNotFound, "Do on a destroyed session of the owner")
		}
		assert.Equal(t, 1, count(t, tg, table), "rows left: bob's")
	})
}

// Sweep removes expired records, and the engine reports them.
func TestExpiryRemovesRows(t *testing.T) {
	each(t, func(t *testing.T, tg target) {
		cfg := pgstore.Config{Table: tableFor(t)}
		e := tg.engine(t, cfg, engine.Config{IdleTimeout: time.Hour, PassivateAfter: time.Hour})
		ctx := context.Background()
		for range 3 {
			_, err := e.Create(ctx)
			require.NoError(t, err)
		}
		require.NoError(t, e.Close()) // passivates: the leases go
		s := tg.store(t, cfg)
		rep, err := s.Sweep(ctx, time.Now().Add(2*time.Hour))
		require.NoError(t, err)
		assert.Equal(t, 3, rep.Expired, "Expired in %+v", rep)
		assert.Len(t, rep.Removed, 3, "Removed in %+v", rep)
		assert.Zero(t, count(t, tg, cfg.Table), "rows with a record")
	})
}
