package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// The counters move as a contended workload says: 8 goroutines x 50
// increments of one session queued behind a held turn.
func TestStatsContended(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{})
		id := mustCreate(t, e)
		release := hold(e, id) // one turn, so that the others queue
		const workers, each = 8, 50
		wait := incrementConcurrently(t, e, id, workers, each)
		synctest.Wait() // every worker queued behind the held turn
		time.Sleep(time.Second)
		release()
		wait()
		synctest.Wait()

		s := e.Stats()
		assert.Equal(t, workers*each, get(t, e, id, "n"))
		assert.GreaterOrEqual(t, s.Turns, uint64(workers*each+1), "the held turn and the increments")
		assert.GreaterOrEqual(t, s.TurnsWaited, uint64(workers), "each worker queued behind the held turn")
		assert.GreaterOrEqual(t, s.WaitTime, time.Duration(workers)*time.Second, "each waited the held second")
		assert.Equal(t, uint64(workers*each), s.Commits)
		assert.Zero(t, s.CommitsFailed)
		assert.Equal(t, uint64(1), s.Activations)
		assert.Zero(t, s.Passivations)
		assert.Zero(t, s.LockTimeouts)
		assert.Equal(t, 1, s.Active)
	})
}

// A lock timeout is counted once and logged at Warn, naming the session
// redacted.
func TestStatsLockTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := newLogSignal("engine: lock timeout")
		e := newEngine(t, nil, engine.Config{LockTimeout: time.Second, Logger: logs.logger()})
		id := mustCreate(t, e)
		release := hold(e, id)
		err := e.Do(context.Background(), id, func(context.Context, *engine.Session) error { return nil })
		require.ErrorIs(t, err, engine.ErrLockTimeout)
		release()
		synctest.Wait()
		assert.Equal(t, uint64(1), e.Stats().LockTimeouts)
		line := within(t, logs.ch, time.Second)
		assert.True(t, strings.HasPrefix(line, "WARN "), "logged at %s, want WARN", line)
		assert.Contains(t, line, id[:6])
		assert.NotContains(t, line, id, "the log names the session redacted")
		assert.Len(t, logs.ch, 0, "logged once")

		err = e.Do(context.Background(), id, func(context.Context, *engine.Session) error { return errBoom })
		require.ErrorIs(t, err, errBoom)
		assert.Equal(t, uint64(1), e.Stats().LockTimeouts, "other errors are not lock timeouts")
	})
}

// Failed commits, passivations, expiries and sweeps are counted.
func TestStatsLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRecordingStore()
		e := newEngine(t, store, engine.Config{IdleTimeout: time.Hour, PassivateAfter: time.Minute, SweepInterval: -1})
		id := mustCreate(t, e)
		set(t, e, id, "k", 1)
		store.setFailSave(errors.New("disk full"))
		err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			s.Set("k", 2)
			return nil
		})
		require.Error(t, err)
		store.setFailSave(nil)
		time.Sleep(2 * time.Minute) // idle: passivated
		synctest.Wait()
		s := e.Stats()
		assert.Equal(t, uint64(1), s.Commits)
		assert.Equal(t, uint64(1), s.CommitsFailed)
		assert.Equal(t, uint64(1), s.Passivations)
		assert.Zero(t, s.HandOversGiven)
		assert.Equal(t, 0, s.Active)

		old := mustCreate(t, e)
		time.Sleep(2 * time.Hour)
		rep, err := e.Sweep(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 2, rep.Expired)
		s = e.Stats()
		assert.Equal(t, uint64(1), s.Sweeps)
		assert.Equal(t, persist.SweepReport{Expired: 2}, s.Swept)
		err = e.Do(context.Background(), old, func(context.Context, *engine.Session) error { return nil })
		assert.ErrorIs(t, err, engine.ErrNotFound)
	})
}
