//go:build unix

package pgstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit/enginekit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/pgstore"
)

// BenchmarkSave measures a held Lock's Save against bare UPDATEs of the
// same bytes (in the store's exec mode and with a cached prepared
// statement), on the shared server, directly.
func BenchmarkSave(b *testing.B) {
	tg := benchTarget(b)
	ctx := context.Background()
	data := make([]byte, 40)
	b.Run("Save", func(b *testing.B) {
		s := tg.store(b, pgstore.Config{Table: tableFor(b)})
		l, err := s.Lock(ctx, "benchmark-session", nil)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Release()
		b.ReportAllocs()
		for b.Loop() {
			if err := l.Save(persist.Record{Owner: "o", Data: data}, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, mode := range []struct {
		name string
		mode pgx.QueryExecMode
	}{{"UpdateExec", pgx.QueryExecModeExec}, {"UpdateCached", pgx.QueryExecModeCacheStatement}} {
		b.Run(mode.name, func(b *testing.B) {
			p := tg.pool(b)
			table := pgx.Identifier{tableFor(b)}.Sanitize()
			if _, err := p.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+table+" (key text PRIMARY KEY, data bytea NOT NULL)"); err != nil {
				b.Fatal(err)
			}
			if _, err := p.Exec(ctx, "INSERT INTO "+table+" VALUES ('k', '') ON CONFLICT DO NOTHING"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Exec(ctx, "UPDATE "+table+" SET data = $2 WHERE key = $1", mode.mode, "k", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteDoVsUpdate alternates a write Do on a resident session
// with a bare UPDATE of the same number of bytes sent as the store sends
// its statements (QueryExecModeExec), so that the machine's load falls on
// both alike, and reports the median of each and their ratio.
func BenchmarkWriteDoVsUpdate(b *testing.B) {
	tg := benchTarget(b)
	ctx := context.Background()
	e := tg.engine(b, pgstore.Config{Table: tableFor(b)}, engine.Config{})
	id, err := e.Create(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := enginekit.Incr(ctx, e, id); err != nil {
		b.Fatal(err)
	}
	p := tg.pool(b)
	table := pgx.Identifier{tableFor(b) + "_floor"}.Sanitize()
	for _, stmt := range []string{
		"CREATE TABLE IF NOT EXISTS " + table + " (key text PRIMARY KEY, data bytea NOT NULL)",
		"INSERT INTO " + table + " VALUES ('k', '') ON CONFLICT DO NOTHING",
	} {
		if _, err := p.Exec(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
	data := make([]byte, 40) // about what the engine stores for {"n": int}
	var dos, updates []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := enginekit.Incr(ctx, e, id); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := p.Exec(ctx, "UPDATE "+table+" SET data = $2 WHERE key = $1", pgx.QueryExecModeExec, "k", data); err != nil {
			b.Fatal(err)
		}
		dos, updates = append(dos, t1.Sub(t0)), append(updates, time.Since(t1))
	}
	md, mu := medianOf(dos), medianOf(updates)
	b.ReportMetric(float64(md.Nanoseconds()), "do-ns")
	b.ReportMetric(float64(mu.Nanoseconds()), "update-ns")
	b.ReportMetric(float64(md)/float64(mu), "do/update")
}

func medianOf(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// benchTarget returns the shared server, directly, or skips b.
func benchTarget(b *testing.B) target {
	if shared == nil {
		b.Skip("no PostgreSQL server")
	}
	return target{name: "direct", dsn: shared.DSN()}
}
