package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// failFirstSweep is a Store whose first Sweep fails without doing anything.
type failFirstSweep struct {
	persist.Store
	sweeps atomic.Int32
}

func (f *failFirstSweep) Sweep(ctx context.Context, now time.Time) (persist.SweepReport, error) {
	if f.sweeps.Add(1) == 1 {
		return persist.SweepReport{}, errors.New("planted sweep failure")
	}
	return f.Store.Sweep(ctx, now)
}

// Guarantee 17 (docs/architecture.md): the background sweeper keeps running
// after a sweep that failed: the next tick sweeps again.
func TestBackgroundSweeperGoesOnAfterError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := persist.NewMemory()
		store := &failFirstSweep{Store: mem}
		newEngine(t, store, engine.Config{IdleTimeout: time.Minute, SweepInterval: 5 * time.Minute,
			Logger: slog.New(slog.DiscardHandler)})
		e := newEngine(t, mem, engine.Config{SweepInterval: -1, IdleTimeout: time.Minute})
		mustCreate(t, e)
		time.Sleep(5*time.Minute + time.Second)
		synctest.Wait()
		if got, n := store.sweeps.Load(), mem.Len(); got != 1 || n != 1 {
			t.Fatalf("after the first tick: got %d sweeps and %d records, want 1 failed sweep and 1 record", got, n)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if got, n := store.sweeps.Load(), mem.Len(); got != 2 || n != 0 {
			t.Fatalf("after the second tick: got %d sweeps and %d records, want 2 sweeps and 0 records", got, n)
		}
	})
}
