package engine_test

import (
	"context"
	"fmt"
	"os"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// Stats in the Prometheus text exposition format, without importing a
// Prometheus client: what a /metrics handler writes.
func ExampleEngine_Stats() {
	eng, err := engine.New(persist.NewMemory(), engine.Config{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	ctx := context.Background()
	id, _ := eng.Create(ctx)
	for range 3 {
		eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			n, _ := engine.Get[int](s, "n")
			s.Set("n", n+1)
			return nil
		})
	}

	s := eng.Stats()
	w := os.Stdout // the http.ResponseWriter, with Content-Type "text/plain; version=0.0.4"
	fmt.Fprintf(w, "# TYPE lockstep_active_sessions gauge\nlockstep_active_sessions %d\n", s.Active)
	for _, c := range []struct {
		name string
		v    float64
	}{
		{"turns", float64(s.Turns)},
		{"commits", float64(s.Commits)},
		{"lock_timeouts", float64(s.LockTimeouts)},
		{"wait_seconds", s.WaitTime.Seconds()},
	} {
		fmt.Fprintf(w, "# TYPE lockstep_%s_total counter\nlockstep_%s_total %g\n", c.name, c.name, c.v)
	}
	// Output:
	// # TYPE lockstep_active_sessions gauge
	// lockstep_active_sessions 1
	// # TYPE lockstep_turns_total counter
	// lockstep_turns_total 3
	// # TYPE lockstep_commits_total counter
	// lockstep_commits_total 3
	// # TYPE lockstep_lock_timeouts_total counter
	// lockstep_lock_timeouts_total 0
	// # TYPE lockstep_wait_seconds_total counter
	// lockstep_wait_seconds_total 0
}
