package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/internal/testkit/enginekit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
)

// BenchmarkSave is one fenced write of a held session; BenchmarkSet the
// bare SET of the same bytes on the same server, its floor.
func BenchmarkSave(b *testing.B) {
	srv := startRedis(b)
	s := srv.store(b, redisstore.Config{})
	benchSave(b, s)
}

func BenchmarkSet(b *testing.B) {
	srv := startRedis(b)
	c := srv.client(b)
	data := make([]byte, 64)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Set(ctx, "k", data, 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDoWrite is a write Do on a resident session over Redis.
func BenchmarkDoWrite(b *testing.B) {
	srv := startRedis(b)
	e, err := engine.New(srv.store(b, redisstore.Config{}), engine.Config{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	id, err := e.Create(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := enginekit.Incr(ctx, e, id); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSave measures saves of a held session of s.
func benchSave(b *testing.B, s *redisstore.Store) {
	l, err := s.Lock(context.Background(), testID, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Release()
	rec := persist.Record{Data: make([]byte, 64)}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Save(rec, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSaveWait is BenchmarkSave with WaitReplicas 1, on a primary
// with one replica.
func BenchmarkSaveWait(b *testing.B) {
	primary, _ := testkit.StartReplicated(b, 1)
	s := newStore(b, nodeClient(b, primary), redisstore.Config{WaitReplicas: 1, WaitTimeout: time.Second})
	benchSave(b, s)
}
