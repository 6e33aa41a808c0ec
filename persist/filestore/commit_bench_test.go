package filestore

import (
	"os"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// BenchmarkCommit measures one commit of a small record on a held lock:
// Save as the store does it (reopen: the lock-lost check, then open,
// pwrite of the slot, close), against the alternative of keeping the record
// file open from Load to Release (keep-open: the lock-lost check, a stat
// that the open file is still the record on the path, pwrite), which costs
// a second descriptor per resident session. With sync, each commit is
// followed by one fdatasync.
func BenchmarkCommit(b *testing.B) {
	rec := persist.Record{Created: time.Now(), Expires: time.Now().Add(time.Hour), Data: make([]byte, 60)}
	held := func(b *testing.B) *dirLock {
		d, err := Open(b.TempDir(), Config{noWatch: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		l, err := d.tryLock(keyOf("id"), nil, true)
		if err != nil || l == nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Release() })
		if err := l.Save(rec, false); err != nil {
			b.Fatal(err)
		}
		return l
	}
	for _, sync := range []bool{false, true} {
		suffix := map[bool]string{false: "", true: "-sync"}[sync]
		b.Run("reopen"+suffix, func(b *testing.B) {
			l := held(b)
			b.ReportAllocs()
			for b.Loop() {
				if err := l.Save(rec, sync); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("keep-open"+suffix, func(b *testing.B) {
			l := held(b)
			path := l.d.path(recordName(l.key))
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				b.Fatal(err)
			}
			lo := l.lo
			b.ReportAllocs()
			for b.Loop() {
				if err := l.check(); err != nil {
					b.Fatal(err)
				}
				if cur, err := os.Stat(path); err != nil || !os.SameFile(cur, fi) {
					b.Fatal("record replaced", err)
				}
				next := 1 - lo.cur
				if _, err := f.WriteAt(appendSlot(make([]byte, 0, slotNeed(rec)), rec, lo.seq+1), lo.slotOffset(next)); err != nil {
					b.Fatal(err)
				}
				if sync {
					if err := datasync(f); err != nil {
						b.Fatal(err)
					}
				}
				lo.cur, lo.seq = next, lo.seq+1
			}
		})
	}
}
