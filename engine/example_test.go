package engine_test

import (
	"context"
	"errors"
	"fmt"

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
