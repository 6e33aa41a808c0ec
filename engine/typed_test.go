package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
	"github.com/lockstep-go/lockstep/internal/testkit"
)

type point struct{ X, Y int }

func (p point) String() string { return fmt.Sprintf("(%d,%d)", p.X, p.Y) }

// typed runs fn in a turn of a fresh session holding the values given.
// The turn is rolled back, so the values need not be encodable.
func typed(t *testing.T, values map[string]any, fn func(s *engine.Session)) {
	t.Helper()
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	errUndo := errors.New("undo")
	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		for k, v := range values {
			s.Set(k, v)
		}
		fn(s)
		return errUndo
	})
	if !errors.Is(err, errUndo) {
		t.Fatalf("Do: got %v, want %v", err, errUndo)
	}
}

func TestGet(t *testing.T) {
	values := map[string]any{
		"int":   7,
		"str":   "seven",
		"point": point{1, 2},
		"ptr":   &point{3, 4},
		"nil":   nil,
		"list":  []string{"a"},
	}
	check := func(t *testing.T, name string, got, want any, ok, wantOK bool) {
		t.Helper()
		if ok != wantOK || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, %v; want %v, %v", name, got, ok, want, wantOK)
		}
	}
	typed(t, values, func(s *engine.Session) {
		n, ok := engine.Get[int](s, "int")
		check(t, "Get[int](int)", n, 7, ok, true)
		str, ok := engine.Get[string](s, "str")
		check(t, "Get[string](str)", str, "seven", ok, true)
		p, ok := engine.Get[point](s, "point")
		check(t, "Get[point](point)", p, point{1, 2}, ok, true)
		pp, ok := engine.Get[*point](s, "ptr")
		check(t, "Get[*point](ptr)", pp, &point{3, 4}, ok, true)
		st, ok := engine.Get[fmt.Stringer](s, "point")
		check(t, "Get[fmt.Stringer](point)", st, "(1,2)", ok, true)
		l, ok := engine.Get[[]string](s, "list")
		check(t, "Get[[]string](list)", l, []string{"a"}, ok, true)
		a, ok := engine.Get[any](s, "nil")
		check(t, "Get[any](nil)", a, nil, ok, true)

		// Wrong types and missing keys: the zero value and false.
		n, ok = engine.Get[int](s, "str")
		check(t, "Get[int](str)", n, 0, ok, false)
		pp, ok = engine.Get[*point](s, "point") // a value is not a pointer
		if pp != nil || ok {
			t.Errorf("Get[*point](point): got %v, %v; want nil, false", pp, ok)
		}
		pp, ok = engine.Get[*point](s, "nil") // an untyped nil is no *point
		if pp != nil || ok {
			t.Errorf("Get[*point](nil): got %v, %v; want nil, false", pp, ok)
		}
		st, ok = engine.Get[fmt.Stringer](s, "int")
		check(t, "Get[fmt.Stringer](int)", st, nil, ok, false)
		str, ok = engine.Get[string](s, "missing")
		check(t, "Get[string](missing)", str, "", ok, false)
		a, ok = engine.Get[any](s, "missing")
		check(t, "Get[any](missing)", a, nil, ok, false)

		if got := s.Len(); got != len(values) {
			t.Errorf("Len after Gets: got %d, want %d", got, len(values))
		}
	})
}

// Get converts between the predeclared integer types when the value fits,
// and nothing else: named types and floats keep their types.
func TestGetConvertsIntegers(t *testing.T) {
	type count int64
	values := map[string]any{
		"int64":  int64(42),
		"int":    200,
		"neg":    -1,
		"big":    uint64(math.MaxUint64),
		"maxi64": int64(math.MaxInt64),
		"u8":     uint8(255),
		"f":      42.0,
		"named":  count(7),
	}
	typed(t, values, func(s *engine.Session) {
		for _, c := range []struct {
			name   string
			got    any
			ok     bool
			want   any
			wantOK bool
		}{
			{"Get[int](int64)", pair(engine.Get[int](s, "int64")), true, 42, true},
			{"Get[int32](int64)", pair(engine.Get[int32](s, "int64")), true, int32(42), true},
			{"Get[uint](int64)", pair(engine.Get[uint](s, "int64")), true, uint(42), true},
			{"Get[int64](int)", pair(engine.Get[int64](s, "int")), true, int64(200), true},
			{"Get[uint8](int 200)", pair(engine.Get[uint8](s, "int")), true, uint8(200), true},
			{"Get[int8](int 200)", pair(engine.Get[int8](s, "int")), true, int8(0), false},
			{"Get[uint](int -1)", pair(engine.Get[uint](s, "neg")), true, uint(0), false},
			{"Get[int16](int -1)", pair(engine.Get[int16](s, "neg")), true, int16(-1), true},
			{"Get[int64](uint64 max)", pair(engine.Get[int64](s, "big")), true, int64(0), false},
			{"Get[uint64](uint64 max)", pair(engine.Get[uint64](s, "big")), true, uint64(math.MaxUint64), true},
			{"Get[uint64](int64 max)", pair(engine.Get[uint64](s, "maxi64")), true, uint64(math.MaxInt64), true},
			{"Get[uintptr](uint8)", pair(engine.Get[uintptr](s, "u8")), true, uintptr(255), true},
			{"Get[int](float64)", pair(engine.Get[int](s, "f")), true, 0, false},
			{"Get[float64](int)", pair(engine.Get[float64](s, "int")), true, 0.0, false},
			{"Get[int64](count)", pair(engine.Get[int64](s, "named")), true, int64(0), false},
			{"Get[count](int64)", pair(engine.Get[count](s, "int64")), true, count(0), false},
			{"Get[string](int)", pair(engine.Get[string](s, "int")), true, "", false},
		} {
			p := c.got.([2]any)
			if p[0] != c.want || p[1] != c.wantOK {
				t.Errorf("%s: got %#v, %v; want %#v, %v", c.name, p[0], p[1], c.want, c.wantOK)
			}
		}
		// Pop converts as Get does, and keeps what it cannot return.
		if v, ok := engine.Pop[int](s, "int64"); v != 42 || !ok {
			t.Errorf("Pop[int](int64): got %v, %v; want 42, true", v, ok)
		}
		if _, ok := s.Get("int64"); ok {
			t.Errorf("int64 after Pop[int]: still there, want it deleted")
		}
		if _, ok := engine.Pop[int8](s, "int"); ok {
			t.Errorf("Pop[int8](int 200): got ok, want false")
		}
		if v, ok := s.Get("int"); v != 200 || !ok {
			t.Errorf("int after a Pop[int8] that did not fit: got %v, %v; want 200, true", v, ok)
		}
	})
}

// pair packs the results of Get for a table.
func pair[T any](v T, ok bool) [2]any { return [2]any{v, ok} }

func TestPop(t *testing.T) {
	typed(t, map[string]any{"flash": "saved", "n": 3}, func(s *engine.Session) {
		if got, ok := engine.Pop[string](s, "flash"); got != "saved" || !ok {
			t.Errorf("first Pop: got %q, %v; want saved, true", got, ok)
		}
		if got, ok := engine.Pop[string](s, "flash"); got != "" || ok {
			t.Errorf("second Pop: got %q, %v; want \"\", false", got, ok)
		}
		if _, ok := s.Get("flash"); ok {
			t.Error("flash still in the session after Pop")
		}
	})
}

func TestPopWrongTypeKeepsValue(t *testing.T) {
	typed(t, map[string]any{"n": 3}, func(s *engine.Session) {
		if got, ok := engine.Pop[string](s, "n"); got != "" || ok {
			t.Errorf("Pop[string](int): got %q, %v; want \"\", false", got, ok)
		}
		if v, ok := s.Get("n"); v != 3 || !ok {
			t.Errorf("after a Pop of the wrong type: got %v, %v; want 3, true (kept)", v, ok)
		}
		if got, ok := engine.Pop[int](s, "n"); got != 3 || !ok {
			t.Errorf("Pop[int](int): got %d, %v; want 3, true", got, ok)
		}
		if got, ok := engine.Pop[int](s, "missing"); got != 0 || ok {
			t.Errorf("Pop[int](missing): got %d, %v; want 0, false", got, ok)
		}
		if s.Len() != 0 {
			t.Errorf("keys left: %v, want none", s.Keys())
		}
	})
}

// A Pop in a turn that fails or panics is undone with the rest of the
// turn: the flash is there for the next request. A Pop in a turn that
// succeeds is written to the store.
func TestPopRollback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := engine.Open(dir, engine.Config{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() }) // after the Close below: a no-op
	id := mustCreate(t, e)
	set(t, e, id, "flash", "saved")

	err = e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		if _, ok := engine.Pop[string](s, "flash"); !ok {
			t.Error("Pop in the failing turn found nothing")
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Do: got %v, want %v", err, errBoom)
	}
	if got := get(t, e, id, "flash"); got != "saved" {
		t.Fatalf("after a failed turn: flash %v, want saved (Pop rolled back)", got)
	}

	func() {
		defer func() {
			if r := recover(); r != errBoom {
				t.Errorf("recovered %v, want %v", r, errBoom)
			}
		}()
		e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			engine.Pop[string](s, "flash")
			panic(errBoom)
		})
	}()
	if got := get(t, e, id, "flash"); got != "saved" {
		t.Fatalf("after a panicking turn: flash %v, want saved (Pop rolled back)", got)
	}

	// A nested Do that fails undoes its own Pop only.
	err = e.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		s.Set("seen", true)
		inner := e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			engine.Pop[string](s, "flash")
			return errBoom
		})
		if !errors.Is(inner, errBoom) {
			t.Errorf("nested Do: got %v, want %v", inner, errBoom)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, e, id, "flash"); got != "saved" {
		t.Fatalf("after a failed nested turn: flash %v, want saved", got)
	}

	var got string
	err = e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		got, _ = engine.Pop[string](s, "flash")
		return nil
	})
	if err != nil || got != "saved" {
		t.Fatalf("Pop: got %q, %v; want saved, nil", got, err)
	}
	// Reopened, the directory holds what was committed: no flash.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2, err := engine.Open(dir, engine.Config{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e2.Close() })
	if got := get(t, e2, id, "flash"); got != nil {
		t.Errorf("after reopening: flash %v, want none (the Pop was committed)", got)
	}
	if got := get(t, e2, id, "seen"); got != true {
		t.Errorf("after reopening: seen %v, want true", got)
	}
}

// flashers is how many requests race for one flash message.
const flashers = 20

// Of concurrent turns that Pop one flash, exactly one gets it.
func TestPopFlashConcurrent(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	for round := range 5 {
		set(t, e, id, "flash", fmt.Sprint("saved ", round))
		seen := make(chan string, flashers)
		testkit.AtOnce(flashers, func() {
			err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				if msg, ok := engine.Pop[string](s, "flash"); ok {
					seen <- msg
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
		close(seen)
		var got []string
		for msg := range seen {
			got = append(got, msg)
		}
		if want := fmt.Sprint("saved ", round); len(got) != 1 || got[0] != want {
			t.Fatalf("round %d: flash seen by %d turns (%q), want exactly one (%q)", round, len(got), got, want)
		}
	}
}

// The same through HTTP: of 20 concurrent requests of one session, in
// either locking mode and with either store, exactly one shows the flash.
func TestPopFlashConcurrentHTTP(t *testing.T) {
	stores := map[string]func(t *testing.T) *engine.Engine{
		"memory": func(t *testing.T) *engine.Engine { return newEngine(t, nil, engine.Config{}) },
		"dir": func(t *testing.T) *engine.Engine {
			e, err := engine.Open(t.TempDir(), engine.Config{SweepInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := e.Close(); err != nil {
					t.Error(err)
				}
			})
			return e
		},
	}
	for name, open := range stores {
		for _, mode := range []httpadapter.Locking{httpadapter.Implicit, httpadapter.Explicit} {
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				e := open(t)
				id := mustCreate(t, e)
				set(t, e, id, "flash", "saved")
				h := httpadapter.Middleware(e, httpadapter.Config{Locking: mode})(
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						var msg string
						err := httpadapter.Do(r, func(_ context.Context, s *engine.Session) error {
							msg, _ = engine.Pop[string](s, "flash")
							return nil
						})
						if err != nil {
							httpadapter.Error(w, r, err)
							return
						}
						fmt.Fprint(w, msg)
					}))
				srv := httptest.NewServer(h)
				defer srv.Close()

				bodies := testkit.GetAtOnce(t, srv.Client(), srv.URL, flashers, func(req *http.Request) {
					req.AddCookie(&http.Cookie{Name: httpadapter.DefaultCookieName, Value: id})
				})
				shown := 0
				for _, b := range bodies {
					if b == "saved" {
						shown++
					} else if b != "" {
						t.Errorf("body %q, want saved or nothing", b)
					}
				}
				if shown != 1 {
					t.Errorf("flash shown %d times in %d requests, want exactly once", shown, flashers)
				}
			})
		}
	}
}
