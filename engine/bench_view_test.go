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
	ctx := context.Background()
	systems := map[string]func(b *testing.B) (interface {
		read(context.Context, string) (any, error)
	}, string){
		"rwmutex-map": func(*testing.B) (interface {
			read(context.Context, string) (any, error)
		}, string) {
			return &rwMutexMap{m: map[string]map[string]any{"s": {"n": 1}}}, "s"
		},
		"lockstep-memory": func(b *testing.B) (interface {
			read(context.Context, string) (any, error)
		}, string) {
			e := newEngine(b, nil, engine.Config{})
			id := mustCreate(b, e)
			set(b, e, id, "n", 1)
			return engineViews{e}, id
		},
	}
	for name, mk := range systems {
		b.Run("serial/"+name, func(b *testing.B) {
			s, id := mk(b)
			b.ReportAllocs()
			for b.Loop() {
				s.read(ctx, id)
			}
		})
		b.Run("parallel/"+name, func(b *testing.B) {
			s, id := mk(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s.read(ctx, id)
				}
			})
		})
	}
}
