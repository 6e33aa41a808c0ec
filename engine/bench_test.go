package engine_test

import (
	"context"
	"sync"
	"testing"

	"github.com/lockstep-go/lockstep/engine"
)

// reader reads one value of one session.
type reader interface {
	read(ctx context.Context, id string) (any, error)
}

// sessions is the one interface the benchmarks compare implementations
// behind: a read and a write of one value on one session.
type sessions interface {
	reader
	write(ctx context.Context, id string, v int) error
}

// withN returns an engine with cfg and a session of it whose "n" is 1.
func withN(b *testing.B, cfg engine.Config) (*engine.Engine, string) {
	e := newEngine(b, nil, cfg)
	id := mustCreate(b, e)
	set(b, e, id, "n", 1)
	return e, id
}

// benchReads runs the reads of what mk returns as serial, one goroutine,
// and as parallel, from many.
func benchReads[R reader](b *testing.B, serial, parallel string, mk func(*testing.B) (R, string)) {
	ctx := context.Background()
	b.Run(serial, func(b *testing.B) {
		s, id := mk(b)
		b.ReportAllocs()
		for b.Loop() {
			s.read(ctx, id)
		}
	})
	b.Run(parallel, func(b *testing.B) {
		s, id := mk(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.read(ctx, id)
			}
		})
	})
}

// mutexMap is the floor: a sync.Mutex and a map, no turns, no persistence.
type mutexMap struct {
	mu sync.Mutex
	m  map[string]map[string]any
}

func (mm *mutexMap) read(_ context.Context, id string) (any, error) {
	mm.mu.Lock()
	v := mm.m[id]["n"]
	mm.mu.Unlock()
	return v, nil
}

func (mm *mutexMap) write(_ context.Context, id string, v int) error {
	mm.mu.Lock()
	mm.m[id]["n"] = v
	mm.mu.Unlock()
	return nil
}

type engineSessions struct{ e *engine.Engine }

func (es engineSessions) read(ctx context.Context, id string) (v any, err error) {
	err = es.e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		v, _ = s.Get("n")
		return nil
	})
	return v, err
}

func (es engineSessions) write(ctx context.Context, id string, v int) error {
	return es.e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		s.Set("n", v)
		return nil
	})
}

func benchSystems(b *testing.B) map[string]func(b *testing.B) (sessions, string) {
	return map[string]func(b *testing.B) (sessions, string){
		"mutex-map": func(b *testing.B) (sessions, string) {
			return &mutexMap{m: map[string]map[string]any{"s": {"n": 1}}}, "s"
		},
		"lockstep-memory": func(b *testing.B) (sessions, string) {
			e, id := withN(b, engine.Config{})
			return engineSessions{e}, id
		},
		"lockstep-memory-onpassivate": func(b *testing.B) (sessions, string) {
			e, id := withN(b, engine.Config{Durability: engine.OnPassivate})
			return engineSessions{e}, id
		},
	}
}

func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	for name, mk := range benchSystems(b) {
		benchReads(b, "read/"+name, "read-parallel/"+name, mk)
		b.Run("write/"+name, func(b *testing.B) {
			s, id := mk(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				s.write(ctx, id, i)
			}
		})
		b.Run("write-parallel/"+name, func(b *testing.B) {
			s, id := mk(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					s.write(ctx, id, i)
				}
			})
		})
	}
}
