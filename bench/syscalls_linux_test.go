package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkCommitSyscalls measures the system calls of one commit of the
// file store, one variation at a time, on a record file of the size the
// suite's session has (544 bytes: a 32-byte header and two slots of 256
// bytes, one 4 KiB block), writing 75 bytes alternately at the offsets of
// slot 0 and slot 1 as the store does. Besides ns/op it reports the writes
// the file's block device completed per operation (from
// /sys/dev/block/MAJ:MIN/stat; other processes' writes count too, so run
// it on a quiet machine).
//
// The cases: the floor of a synced commit (pwrite + fdatasync on a
// descriptor kept open); the same after a stat of the file (fstat), or one
// asking for the inode number only (statx STATX_INO); a commit's calls
// (stat of the lock file, open, fstat, pwrite, close), with and without
// fdatasync; the floor of an unsynced commit (stat, open, pwrite, close).
//
//	go -C bench test -run '^$' -bench CommitSyscalls -benchtime 2000x -count 5 .
func BenchmarkCommitSyscalls(b *testing.B) {
	const size, slot1, n = 544, 288, 75
	buf := make([]byte, n)
	for _, c := range []struct {
		name string
		op   func(kept *os.File, path string, off int64) error
	}{
		{"pwrite-fdatasync", func(f *os.File, _ string, off int64) error {
			return writeSync(f, buf, off, true)
		}},
		{"fstat-pwrite-fdatasync", func(f *os.File, _ string, off int64) error {
			if _, err := f.Stat(); err != nil {
				return err
			}
			return writeSync(f, buf, off, true)
		}},
		{"statx-ino-pwrite-fdatasync", func(f *os.File, _ string, off int64) error {
			var st unix.Statx_t
			if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_INO, &st); err != nil {
				return err
			}
			return writeSync(f, buf, off, true)
		}},
		{"commit-calls-fdatasync", func(_ *os.File, path string, off int64) error {
			return commitCalls(path, buf, off, true)
		}},
		{"commit-calls", func(_ *os.File, path string, off int64) error {
			return commitCalls(path, buf, off, false)
		}},
		{"stat-open-pwrite-close", func(_ *os.File, path string, off int64) error {
			if _, err := os.Stat(path); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			if _, err := f.WriteAt(buf, off); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "session-x")
			if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path+".lock", nil, 0o600); err != nil {
				b.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := datasync(f); err != nil {
				b.Fatal(err)
			}
			writes := deviceWrites(b, path)
			before := writes()
			i := int64(0)
			for b.Loop() {
				if err := c.op(f, path, 32+i%2*(slot1-32)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if before >= 0 {
				b.ReportMetric(float64(writes()-before)/float64(b.N), "disk-writes/op")
			}
		})
	}
}

// writeSync writes p at off in f and, with sync, fdatasyncs f.
func writeSync(f *os.File, p []byte, off int64, sync bool) error {
	if _, err := f.WriteAt(p, off); err != nil {
		return err
	}
	if sync {
		return datasync(f)
	}
	return nil
}

// commitCalls makes the system calls of a file-store commit: a stat of
// the lock file, open, fstat, pwrite, fdatasync with sync, close.
func commitCalls(path string, p []byte, off int64, sync bool) error {
	if _, err := os.Stat(path + ".lock"); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Stat()
	if err == nil {
		err = writeSync(f, p, off, sync)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// deviceWrites returns a func that reads how many writes the block device
// holding path has completed, or -1 if that cannot be read.
func deviceWrites(b *testing.B, path string) func() int64 {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("/sys/dev/block/%d:%d/stat", unix.Major(st.Dev), unix.Minor(st.Dev))
	return func() int64 {
		s, err := os.ReadFile(name)
		if err != nil {
			return -1
		}
		fields := strings.Fields(string(s))
		if len(fields) < 5 {
			return -1
		}
		n, err := strconv.ParseInt(fields[4], 10, 64) // writes completed
		if err != nil {
			return -1
		}
		return n
	}
}
