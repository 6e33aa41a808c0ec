package engine_test

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// At login, the session is given its user as owner, so that
// Engine.DestroyOwner can find it later; the owner is not one of its values.
func ExampleSession_SetOwner() {
	eng, _ := engine.New(persist.NewMemory(), engine.Config{})
	defer eng.Close()
	ctx := context.Background()
	id, _ := eng.Create(ctx)

	login := func(ctx context.Context, s *engine.Session) error {
		s.SetOwner("alice")
		s.Set("name", "Alice")
		return nil
	}
	if err := eng.Do(ctx, id, login); err != nil {
		panic(err)
	}
	// A real login would Regenerate the ID here; the owner goes along.
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		fmt.Println("owner:", s.Owner(), "keys:", s.Keys())
		return nil
	})
	// Output: owner: alice keys: [name]
}

// "Log out everywhere", or a changed password: every session of the user
// is destroyed, in this process and in every other process that shares
// the store. A request still using one of them finds no session.
func ExampleEngine_DestroyOwner() {
	eng, _ := engine.New(persist.NewMemory(), engine.Config{})
	defer eng.Close()
	ctx := context.Background()
	var ids []string
	for _, user := range []string{"alice", "alice", "bob"} { // two browsers of alice's, one of bob's
		id, _ := eng.Create(ctx)
		eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
			s.SetOwner(user)
			return nil
		})
		ids = append(ids, id)
	}

	n, err := eng.DestroyOwner(ctx, "alice")
	if err != nil {
		panic(err)
	}
	fmt.Println("destroyed:", n)
	for _, id := range ids {
		err := eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error { return nil })
		fmt.Println(errors.Is(err, engine.ErrNotFound))
	}
	// Output:
	// destroyed: 2
	// true
	// true
	// false
}

// "Remember me": a session that lives for 30 days of inactivity while
// others expire after an hour. The engine allows it with MaxIdleTimeout;
// httpadapter gives the session's cookie the same Max-Age.
func ExampleSession_SetIdleTimeout() {
	eng, _ := engine.New(persist.NewMemory(), engine.Config{
		IdleTimeout:    time.Hour,           // every session
		MaxIdleTimeout: 90 * 24 * time.Hour, // the longest a session may ask for
	})
	defer eng.Close()
	ctx := context.Background()
	id, _ := eng.Create(ctx)

	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		fmt.Println("before:", s.IdleTimeout())
		s.SetIdleTimeout(30 * 24 * time.Hour) // the user ticked "remember me"
		fmt.Println("after:", s.IdleTimeout())
		s.SetIdleTimeout(365 * 24 * time.Hour) // capped
		fmt.Println("capped:", s.IdleTimeout())
		return nil
	})
	// Output:
	// before: 1h0m0s
	// after: 720h0m0s
	// capped: 2160h0m0s
}

// flateCodec is GobCodec with its bytes compressed: a Codec may wrap
// another.
type flateCodec struct{ engine.GobCodec }

func (c flateCodec) Encode(values map[string]any) ([]byte, error) {
	data, err := c.GobCodec.Encode(values) // an *EncodeError names the key
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(data)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (c flateCodec) Decode(data []byte) (map[string]any, error) {
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, err
	}
	return c.GobCodec.Decode(raw)
}

// A Codec of the application's replaces encoding/gob: here gob with
// compression, for sessions that hold large values.
func ExampleCodec() {
	store := persist.NewMemory()
	cfg := engine.Config{Codec: flateCodec{}}
	eng, _ := engine.New(store, cfg)
	ctx := context.Background()
	id, _ := eng.Create(ctx)
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		s.Set("n", 42)
		return nil
	})
	eng.Close() // the values are in the store, compressed

	eng, _ = engine.New(store, cfg)
	defer eng.Close()
	eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		n, ok := engine.Get[int](s, "n")
		fmt.Println(n, ok)
		return nil
	})
	// Output: 42 true
}
