//go:build unix

package pgstore_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
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

// benchTarget returns the shared server, directly, or skips b.
func benchTarget(b *testing.B) target {
	if shared == nil {
		b.Skip("no PostgreSQL server")
	}
	return target{name: "direct", dsn: shared.DSN()}
}
