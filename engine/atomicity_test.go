package engine_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/lockstep-go/lockstep/engine"
)

// Guarantee 5 (docs/architecture.md): a failing fn is rolled back, whatever
// it did, and its error comes back unchanged.
func TestRollbackOnError(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *engine.Session)
	}{
		{"set existing", func(s *engine.Session) { s.Set("a", 100) }},
		{"set new", func(s *engine.Session) { s.Set("z", 1) }},
		{"delete", func(s *engine.Session) { s.Delete("a") }},
		{"clear", func(s *engine.Session) { s.Clear() }},
		{"clear then set", func(s *engine.Session) { s.Clear(); s.Set("a", 7); s.Set("q", 8) }},
		{"set twice then delete", func(s *engine.Session) { s.Set("a", 5); s.Set("a", 6); s.Delete("b") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, nil, engine.Config{})
			id := mustCreate(t, e)
			set(t, e, id, "a", 1)
			set(t, e, id, "b", "two")
			wrapped := fmt.Errorf("handler: %w", errBoom)
			err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				tt.change(s)
				return wrapped
			})
			if err != wrapped || !errors.Is(err, errBoom) {
				t.Fatalf("err = %v, want the fn's error unchanged", err)
			}
			assertValues(t, e, id, map[string]any{"a": 1, "b": "two"})
		})
	}
}

// A failing nested Do rolls back only its own changes.
func TestNestedRollback(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	err := e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
		s.Set("outer", 1)
		err := e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.Set("inner", 2)
			s.Set("outer", 99)
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Errorf("inner err = %v, want errBoom", err)
		}
		if v, _ := s.Get("outer"); v != 1 {
			t.Errorf("outer after inner rollback = %v, want 1", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	assertValues(t, e, id, map[string]any{"outer": 1})
}

// Guarantee 6 (docs/architecture.md): a panicking fn is rolled back, the
// panic reaches the caller, and the session serves the next Do.
func TestPanicRollsBackAndActorSurvives(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	set(t, e, id, "a", 1)
	got := func() (r any) {
		defer func() { r = recover() }()
		e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			s.Set("a", 2)
			s.Set("b", 3)
			panic("kaboom")
		})
		return nil
	}()
	if got != "kaboom" {
		t.Fatalf("recovered %v, want kaboom", got)
	}
	assertValues(t, e, id, map[string]any{"a": 1})
	if err := increment(context.Background(), e, id); err != nil {
		t.Fatalf("Do after panic: %v", err)
	}
}

// A panic in a nested Do rolls back the nested changes only if the outer
// fn recovers it.
func TestNestedPanicRecoveredByOuter(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	err := e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
		s.Set("outer", 1)
		func() {
			defer func() { recover() }()
			e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
				s.Set("inner", 1)
				panic("inner")
			})
		}()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	assertValues(t, e, id, map[string]any{"outer": 1})
}

// A failed write rolls the turn back and returns the error; the engine
// keeps serving.
func TestSaveFailureRollsBack(t *testing.T) {
	store := newRecordingStore()
	e := newEngine(t, store, engine.Config{})
	id, other := mustCreate(t, e), mustCreate(t, e)
	set(t, e, id, "a", 1)
	diskFull := errors.New("no space left on device")
	store.setFailSave(diskFull)
	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set("a", 2)
		return nil
	})
	if !errors.Is(err, diskFull) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	if err := e.Do(context.Background(), other, func(context.Context, *engine.Session) error { return nil }); err != nil {
		t.Fatalf("read-only Do on another session: %v", err)
	}
	store.setFailSave(nil)
	assertValues(t, e, id, map[string]any{"a": 1})
	set(t, e, other, "ok", true)
}

func assertValues(t *testing.T, e *engine.Engine, id string, want map[string]any) {
	t.Helper()
	got := map[string]any{}
	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		for _, k := range s.Keys() {
			got[k], _ = s.Get(k)
		}
		if s.Len() != len(got) {
			t.Errorf("Len = %d, want %d", s.Len(), len(got))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("values = %v, want %v", got, want)
	}
}
