package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

func ExampleEngine_Do() {
	eng, err := engine.New(persist.NewMemory(), engine.Config{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	ctx := context.Background()
	id, _ := eng.Create(ctx)

	for range 3 {
		err := eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
			visits, _ := engine.Get[int](s, "visits")
			s.Set("visits", visits+1)
			return nil
		})
		if err != nil {
			panic(err)
		}
	}
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		v, _ := s.Get("visits")
		fmt.Println("visits:", v)
		return nil
	})
	// Output: visits: 3
}

// A Do nested in another Do of the same session, with the turn's context,
// runs inline instead of waiting for a turn its caller holds.
func ExampleEngine_Do_nested() {
	eng, _ := engine.New(persist.NewMemory(), engine.Config{})
	defer eng.Close()
	ctx := context.Background()
	id, _ := eng.Create(ctx)

	addToCart := func(ctx context.Context, item string) error {
		return eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
			cart, _ := s.Get("cart")
			items, _ := cart.([]string)
			s.Set("cart", append(items, item))
			return nil
		})
	}
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		if err := addToCart(ctx, "tea"); err != nil { // inline: same turn
			return err
		}
		cart, _ := s.Get("cart")
		fmt.Println("cart:", cart)
		return nil
	})
	// Output: cart: [tea]
}

// When fn fails, everything it changed is rolled back.
func ExampleEngine_Do_rollback() {
	eng, _ := engine.New(persist.NewMemory(), engine.Config{})
	defer eng.Close()
	ctx := context.Background()
	id, _ := eng.Create(ctx)
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		s.Set("balance", 100)
		return nil
	})

	errInsufficient := errors.New("insufficient funds")
	err := eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		b, _ := engine.Get[int](s, "balance")
		s.Set("balance", b-150)
		if b < 150 {
			return errInsufficient
		}
		return nil
	})
	fmt.Println("error:", errors.Is(err, errInsufficient))
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		b, _ := s.Get("balance")
		fmt.Println("balance:", b)
		return nil
	})
	// Output:
	// error: true
	// balance: 100
}

// Regenerate gives the session a new ID (call it at login); the old ID is
// dead from then on.
func ExampleEngine_Regenerate() {
	eng, _ := engine.New(persist.NewMemory(), engine.Config{})
	defer eng.Close()
	ctx := context.Background()
	id, _ := eng.Create(ctx)
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		s.Set("user", "alice")
		return nil
	})
	newID, _ := eng.Regenerate(ctx, id)
	err := eng.Do(ctx, id, func(context.Context, *engine.Session) error { return nil })
	fmt.Println("old ID:", errors.Is(err, engine.ErrNotFound))
	eng.Do(ctx, newID, func(ctx context.Context, s *engine.Session) error {
		u, _ := s.Get("user")
		fmt.Println("new ID holds:", u)
		return nil
	})
	// Output:
	// old ID: true
	// new ID holds: alice
}

// Stats in the Prometheus text exposition format, without importing a
// Prometheus client: what a /metrics handler writes.
func ExampleEngine_Stats() {
	ctx := context.Background()
	eng, err := engine.New(persist.NewMemory(), engine.Config{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	id, _ := eng.Create(ctx)
	// Three requests of one session, each changing it: three turns, three commits.
	for _, page := range []string{"/", "/cart", "/checkout"} {
		eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.Set("last-page", page)
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

// An application that marks users offline when their sessions end: the
// callback runs after the fact, outside any turn, and must be quick.
func ExampleConfig_onEvent() {
	ended := make(chan string, 10)
	eng, err := engine.New(persist.NewMemory(), engine.Config{OnEvent: func(ev engine.Event) {
		if ev.Kind == engine.SessionDestroyed || ev.Kind == engine.SessionExpired {
			ended <- ev.Owner
		}
	}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	id, _ := eng.Create(ctx)
	_ = eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		s.SetOwner("ann")
		return nil
	})
	_ = eng.Destroy(ctx, id)
	_ = eng.Close() // delivers the events queued before it
	fmt.Println("offline:", <-ended)
	// Output: offline: ann
}
