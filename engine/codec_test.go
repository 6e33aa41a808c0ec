package engine_test

import (
	"context"
	"encoding/gob"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
)

// restart closes e and opens the same directory again with cfg.
func restart(t *testing.T, e *engine.Engine, dir string, cfg engine.Config) *engine.Engine {
	t.Helper()
	require.NoError(t, e.Close())
	e, err := engine.Open(dir, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// TestCommonTypesNeedNoRegistration: the types session values commonly
// hold survive a restart without gob.Register, with their Go types.
func TestCommonTypesNeedNoRegistration(t *testing.T) {
	when := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	values := map[string]any{
		"map":       map[string]any{"user": "ann", "n": 3, "tags": []any{"a", 1.5}},
		"list":      []any{"x", 2, true, map[string]any{"nested": []any{int64(7)}}},
		"maps":      []map[string]any{{"a": 1}},
		"strings":   map[string]string{"theme": "dark"},
		"ints":      map[string]int{"a": 1},
		"int64s":    map[string]int64{"a": 1 << 40},
		"floats":    map[string]float64{"pi": 3.14},
		"bools":     map[string]bool{"ok": true},
		"multi":     map[string][]string{"q": {"a", "b"}},
		"byint":     map[int]string{1: "one"},
		"intint":    map[int]int{1: 2},
		"time":      when,
		"times":     []time.Time{when},
		"duration":  90 * time.Second,
		"basic":     []string{"already", "known"},
		"bytes":     []byte("raw"),
		"int":       42,
		"nil value": nil,
	}
	cfg := engine.Config{SweepInterval: -1}
	dir := t.TempDir()
	e, err := engine.Open(dir, cfg)
	require.NoError(t, err)
	id := mustCreate(t, e)
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		for k, v := range values {
			s.Set(k, v)
		}
		return nil
	}))
	e = restart(t, e, dir, cfg)
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		for k, want := range values {
			got, ok := s.Get(k)
			assert.True(t, ok, "%s missing", k)
			assert.Equal(t, want, got, "%s", k)
		}
		return nil
	}))
}

// notEncodable has no exported field: encoding/gob refuses it.
type notEncodable struct{ _ func() }

// neverRegistered is a custom type this test never registers.
type neverRegistered struct{ A int }

// TestEncodeErrorNamesTheValue: a value the codec cannot encode fails the Do that
// stored it, naming the key and the type and saying what to do, and
// nothing of that Do is written.
func TestEncodeErrorNamesTheValue(t *testing.T) {
	var nilPtr *int
	for _, tc := range []struct {
		name  string
		value any
		typ   reflect.Type
		never bool // gob can never encode it
	}{
		{"no exported fields", notEncodable{}, reflect.TypeOf(notEncodable{}), false},
		{"unregistered", neverRegistered{A: 1}, reflect.TypeOf(neverRegistered{}), false},
		{"unregistered inside a map", map[string]any{"x": neverRegistered{}}, reflect.TypeOf(map[string]any{}), false},
		{"nil pointer", nilPtr, reflect.TypeOf(nilPtr), false},
		{"channel", make(chan int), reflect.TypeOf(make(chan int)), true},
		{"func", func() {}, reflect.TypeOf(func() {}), true},
		{"slice of funcs", []func(){nil}, reflect.TypeOf([]func(){}), true},
		{"map of chans", map[string]chan int{"c": nil}, reflect.TypeOf(map[string]chan int{}), true},
		{"pointer to a func", new(func()), reflect.TypeOf(new(func())), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := engine.Config{SweepInterval: -1}
			dir := t.TempDir()
			e, err := engine.Open(dir, cfg)
			require.NoError(t, err)
			id := mustCreate(t, e)
			set(t, e, id, "a", 1)
			err = e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				s.Set("a", 2)
				s.Set("z", "fine")
				s.Set("cart", tc.value)
				return nil
			})
			var ee *engine.EncodeError
			require.True(t, errors.As(err, &ee), "Do: %v, want an EncodeError", err)
			assert.Equal(t, "cart", ee.Key)
			assert.Equal(t, tc.typ, ee.Type)
			assert.ErrorContains(t, err, `"cart"`)
			assert.ErrorContains(t, err, tc.typ.String())
			if tc.never {
				assert.ErrorContains(t, err, "never encodes a func, a chan or an unsafe.Pointer, registered or not")
				assert.NotContains(t, err.Error(), "with gob.Register", "advice that cannot help")
			} else {
				assert.ErrorContains(t, err, "gob.Register")
			}
			assert.Equal(t, 1, get(t, e, id, "a"), "the failed Do's changes stayed in memory")
			e = restart(t, e, dir, cfg)
			assert.Equal(t, 1, get(t, e, id, "a"), "the failed Do's changes were written")
			assert.Nil(t, get(t, e, id, "z"), "the failed Do's changes were written")
		})
	}
}

type registeredByPointer struct{ A int }
type registeredByValue struct{ B int }

// TestPointerValues pins down what happens to pointers, as the package
// documentation says: while resident a value is what Set stored; once
// loaded from the store, gob has kept what the pointer pointed to, as the
// type registered for it.
func TestPointerValues(t *testing.T) {
	gob.Register(&registeredByPointer{})
	gob.Register(registeredByValue{})
	n := 3
	pn := &n
	for _, tc := range []struct {
		name        string
		value, want any // stored, and read back after a restart
	}{
		{"*int", &n, 3},
		{"**int", &pn, 3},
		{"*T, T registered as &T{}", &registeredByPointer{A: 1}, &registeredByPointer{A: 1}},
		{"T, T registered as &T{}", registeredByPointer{A: 1}, &registeredByPointer{A: 1}},
		{"*T, T registered as T{}", &registeredByValue{B: 2}, registeredByValue{B: 2}},
		{"T, T registered as T{}", registeredByValue{B: 2}, registeredByValue{B: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := engine.Config{SweepInterval: -1}
			dir := t.TempDir()
			e, err := engine.Open(dir, cfg)
			require.NoError(t, err)
			id := mustCreate(t, e)
			set(t, e, id, "v", tc.value)
			if resident := get(t, e, id, "v"); reflect.TypeOf(tc.value).Kind() == reflect.Pointer {
				assert.Same(t, tc.value, resident, "resident: not the pointer Set stored")
			} else {
				assert.Equal(t, tc.value, resident, "resident: not the value Set stored")
			}
			e = restart(t, e, dir, cfg)
			got := get(t, e, id, "v")
			assert.IsType(t, tc.want, got)
			assert.Equal(t, tc.want, got)
		})
	}
}
