package engine_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// Passivation (idle, LRU and on request) races new turns on many keys: every
// turn must run exactly once, on the one live incarnation of its session.
func TestStressPassivationRacesTurns(t *testing.T) {
	store := persist.NewMemory()
	e := newEngine(t, store, engine.Config{
		PassivateAfter: time.Millisecond, // the janitor passivates constantly
		MaxResident:    4,                // and evicts
		LockTimeout:    time.Minute,
	})
	const keys, workers, perWorker = 16, 8, 400
	ids := make([]string, keys)
	for i := range ids {
		ids[i] = mustCreate(t, e)
	}
	var runs [keys]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range perWorker {
				k := rng.IntN(keys)
				err := e.Do(context.Background(), ids[k], func(_ context.Context, s *engine.Session) error {
					runs[k].Add(1)
					n, _ := s.Get("n")
					c, _ := n.(int)
					s.Set("n", c+1)
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for k, id := range ids {
		got, _ := get(t, e, id, "n").(int)
		if want := int(runs[k].Load()); got != want {
			t.Errorf("key %d: counter %d, fn ran %d times", k, got, want)
		}
		total += got
	}
	if total != workers*perWorker {
		t.Fatalf("total %d, want %d", total, workers*perWorker)
	}
}
