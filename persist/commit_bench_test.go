package persist

import (
	"os"
	"testing"
	"time"
)

// BenchmarkCommit measures one commit of a small record on a held lock:
// Save as the store does it (keep-open: the record file stays open from
// Load to Release, one pwrite per commit, plus the lock-lost and
// record-replaced checks), against the same slot written through a
// descriptor opened and closed per commit (reopen), the alternative to
// keeping a second descriptor per resident session. With sync, each
// commit is followed by one fdatasync.
func BenchmarkCommit(b *testing.B) {
	rec := Record{Created: time.Now(), Expires: time.Now().Add(time.Hour), Data: make([]byte, 60)}
	for _, sync := range []bool{false, true} {
		suffix := map[bool]string{false: "", true: "-sync"}[sync]
		b.Run("keep-open"+suffix, func(b *testing.B) {
			d, err := OpenDir(b.TempDir(), DirConfig{noWatch: true})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			l, err := d.tryLock(keyOf("id"), nil, true)
			if err != nil || l == nil {
				b.Fatal(err)
			}
			defer l.Release()
			if err := l.Save(rec, false); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := l.Save(rec, sync); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("reopen"+suffix, func(b *testing.B) {
			d, err := OpenDir(b.TempDir(), DirConfig{noWatch: true})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			l, err := d.tryLock(keyOf("id"), nil, true)
			if err != nil || l == nil {
				b.Fatal(err)
			}
			defer l.Release()
			if err := l.Save(rec, false); err != nil {
				b.Fatal(err)
			}
			path := d.path(recordName(keyOf("id")))
			lo := l.lo
			l.closeRecord()
			b.ReportAllocs()
			for b.Loop() {
				if err := l.check(); err != nil {
					b.Fatal(err)
				}
				f, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					b.Fatal(err)
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
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				lo.cur, lo.seq = next, lo.seq+1
			}
		})
	}
}
