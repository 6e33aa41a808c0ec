package filestore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// benchData is a small session record's data.
var benchData = []byte("\x1f\xff\x81\x04\x01\x02\xff\x82\x00\x01\x0c\x01\x10\x00\x00\x16\xff\x82\x00\x01\x07counter\x03int\x04\x02\x00\x54")

// BenchmarkDir measures what an activation plus passivation of a small
// session costs the file store: Lock, Load, Save, Release.
func BenchmarkDir(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(map[bool]string{false: "nosync", true: "sync"}[sync], func(b *testing.B) {
			d, err := filestore.Open(b.TempDir(), filestore.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			ctx, id := context.Background(), newID()
			rec := persist.Record{Created: time.Now(), Expires: time.Now().Add(time.Hour), Data: benchData}
			l, _ := d.Lock(ctx, id, nil)
			l.Save(rec, false)
			l.Release()
			b.ReportAllocs()
			for b.Loop() {
				l, err := d.Lock(ctx, id, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := l.Load(); err != nil {
					b.Fatal(err)
				}
				if err := l.Save(rec, sync); err != nil {
					b.Fatal(err)
				}
				if err := l.Release(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDirParallel runs Lock, Load, Save, Release on distinct sessions
// from several goroutines.
func BenchmarkDirParallel(b *testing.B) {
	d, err := filestore.Open(b.TempDir(), filestore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	rec := persist.Record{Created: time.Now(), Data: benchData}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx, id := context.Background(), newID()
		for pb.Next() {
			l, err := d.Lock(ctx, id, nil)
			if err != nil {
				b.Error(err)
				return
			}
			l.Load()
			l.Save(rec, false)
			l.Release()
		}
	})
}

// BenchmarkBare is the floor BenchmarkDir is compared with: os.ReadFile
// plus an atomic write (temp file, rename) of the same bytes.
func BenchmarkBare(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(map[bool]string{false: "nosync", true: "sync"}[sync], func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "session-"+keyOf(newID()))
			data := make([]byte, 36+len(benchData)) // same size as a record
			if err := os.WriteFile(path, data, 0o600); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				got, err := os.ReadFile(path)
				if err != nil {
					b.Fatal(err)
				}
				f, err := os.CreateTemp(dir, "tmp-*")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Write(got); err != nil {
					b.Fatal(err)
				}
				if sync {
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				if err := os.Rename(f.Name(), path); err != nil {
					b.Fatal(err)
				}
				if sync {
					d, err := os.Open(dir)
					if err != nil {
						b.Fatal(err)
					}
					if err := d.Sync(); err != nil {
						b.Fatal(err)
					}
					d.Close()
				}
			}
		})
	}
}
