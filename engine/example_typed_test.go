package engine_test

import (
	"context"
	"fmt"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

func ExampleGet() {
	eng, _ := engine.New(persist.NewMemory(), engine.Config{})
	defer eng.Close()
	ctx := context.Background()
	id, _ := eng.Create(ctx)

	for range 3 {
		eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
			visits, _ := engine.Get[int](s, "visits") // 0 on the first visit
			s.Set("visits", visits+1)
			return nil
		})
	}
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		visits, ok := engine.Get[int](s, "visits")
		fmt.Println("visits:", visits, ok)
		name, ok := engine.Get[string](s, "visits") // not a string
		fmt.Printf("as a string: %q %v\n", name, ok)
		return nil
	})
	// Output:
	// visits: 3 true
	// as a string: "" false
}

// A flash message: one request stores it, the next one that Pops it shows
// it, and no other request sees it, however many run at once.
func ExamplePop() {
	eng, _ := engine.New(persist.NewMemory(), engine.Config{})
	defer eng.Close()
	ctx := context.Background()
	id, _ := eng.Create(ctx)

	// POST /settings: save, then redirect.
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		s.Set("flash", "Settings saved.")
		return nil
	})
	// GET /settings, twice.
	for range 2 {
		eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
			if msg, ok := engine.Pop[string](s, "flash"); ok {
				fmt.Println("flash:", msg)
			} else {
				fmt.Println("no flash")
			}
			return nil
		})
	}
	// Output:
	// flash: Settings saved.
	// no flash
}
