package engine_test

import (
	"context"
	"sync"
	"testing"

	"github.com/lockstep-go/lockstep/engine"
)

// rwMutexMap is the floor for shared reads: a sync.RWMutex and a map.
type rwMutexMap struct {
	mu sync.RWMutex
	m  map[string]map[string]any
}

func (mm *rwMutexMap) read(_ context.Context, id string) (any, error) {
	mm.mu.RLock()
	v := mm.m[id]["n"]
	mm.mu.RUnlock()
	return v, nil
}

type engineViews struct{ e *engine.Engine }

func (ev engineViews) read(ctx context.Context, id string) (v any, err error) {
	err = ev.e.View(ctx, id, func(_ context.Context, s *engine.Session) error {
		v, _ = s.Get("n")
		return nil
	})
	return v, err
}

// BenchmarkView compares a View of one session, serially and from many
// goroutines, with the same read under a sync.RWMutex.
func BenchmarkView(b *testing.B) {
	systems := map[string]func(b *testing.B) (reader, string){
		"rwmutex-map": func(*testing.B) (reader, string) {
			return &rwMutexMap{m: map[string]map[string]any{"s": {"n": 1}}}, "s"
		},
		"lockstep-memory": func(b *testing.B) (reader, string) {
			e, id := withN(b, engine.Config{})
			return engineViews{e}, id
		},
	}
	for name, mk := range systems {
		benchReads(b, "serial/"+name, "parallel/"+name, mk)
	}
}
