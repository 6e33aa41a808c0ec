package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstep-go/lockstep/actor"
)

// BenchmarkActivation measures one activation (lock, read, decode) and one
// passivation (encode, atomic write, unlock) of a small session per op,
// next to a bare read plus atomic write (temp file, rename) of the same bytes.
func BenchmarkActivation(b *testing.B) {
	ctx := context.Background()
	value := strings.Repeat("v", 200)
	for _, d := range []Durability{OnCommit, OnCommitSync, OnPassivate} {
		b.Run(d.String(), func(b *testing.B) {
			e, err := Open(b.TempDir(), Config{Durability: d, SweepInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			id, _ := e.Create(ctx)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				err := e.Do(ctx, id, func(ctx context.Context, s *Session) error {
					s.Set("user", value)
					s.Set("n", i)
					ctx.(*actor.Turn[string, *sessionState]).Retire() // passivate when this turn ends
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if e.Stats().Active != 0 {
				b.Fatal("session still resident")
			}
		})
	}
	for _, sync := range []bool{false, true} {
		name := "bare"
		if sync {
			name = "bare-sync"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "record")
			data, _ := encodeValues(nil, map[string]any{"user": value, "n": 1})
			os.WriteFile(path, data, 0o600)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := os.ReadFile(path); err != nil {
					b.Fatal(err)
				}
				f, err := os.CreateTemp(dir, "record.tmp-*")
				if err != nil {
					b.Fatal(err)
				}
				f.Write(data)
				if sync {
					f.Sync()
				}
				f.Close()
				if err := os.Rename(f.Name(), path); err != nil {
					b.Fatal(err)
				}
				if sync {
					if d, err := os.Open(dir); err == nil {
						d.Sync()
						d.Close()
					}
				}
			}
		})
	}
}
