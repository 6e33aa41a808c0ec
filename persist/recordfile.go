package persist

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// storeFile is an open file of the store: a temp file being written, or a
// record file kept open by its holder to write slots in place. *os.File
// wrapped in osFile is one; the package's tests wrap it to inject faults.
type storeFile interface {
	io.Writer
	io.WriterAt
	io.ReaderAt
	Stat() (fs.FileInfo, error)
	Datasync() error // fdatasync(2) where there is one, else fsync
	Close() error
	Name() string
}

// osFile is a storeFile on the operating system's file.
type osFile struct{ *os.File }

func (f osFile) Datasync() error { return datasync(f.File) }

func createTemp(dir, pattern string) (storeFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func openFile(name string, flag int) (storeFile, error) {
	f, err := os.OpenFile(name, flag, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// readFile reads all of f, whose size does not change while it is read:
// record files are replaced by rename, never truncated or extended.
func readFile(f storeFile) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, fi.Size())
	n, err := f.ReadAt(b, 0)
	if n == len(b) {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}

// loadRecord opens and decodes the record. The lock keeps a version 2 file
// open, read-write, for Save to write its slots in place.
func (l *dirLock) loadRecord() (Record, error) {
	l.closeRecord()
	name := recordName(l.key)
	path := l.d.path(name)
	f, err := l.d.openFile(path, os.O_RDWR)
	writable := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A read-only file or file system: the record can still be read,
		// and Save replaces it (or fails as it would have).
		f, err = l.d.openFile(path, os.O_RDONLY)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("persist: read %s: %w", name, err)
	}
	b, err := readFile(f)
	if err != nil {
		_ = f.Close()
		return Record{}, fmt.Errorf("persist: read %s: %w", name, err)
	}
	rec, lo, err := decodeFile(b)
	if err != nil {
		_ = f.Close()
		return Record{}, l.quarantine(err)
	}
	if lo.version == recordVersion && writable {
		l.keepRecord(f, lo)
	} else {
		_ = f.Close() // an old format: the next Save rewrites the file
	}
	return rec, nil
}

// keepRecord makes f, laid out as lo, the record file Save writes in place.
func (l *dirLock) keepRecord(f storeFile, lo layout) {
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return
	}
	l.rf, l.rfi, l.lo = f, fi, lo
}

// closeRecord closes the record file kept open, if any.
func (l *dirLock) closeRecord() {
	if l.rf != nil {
		_ = l.rf.Close()
		l.rf, l.rfi, l.lo = nil, nil, layout{}
	}
}

// saveRecord writes rec: in place, into the slot after the current one,
// when the lock has the record file open and rec fits its slots; otherwise
// as a new file (temp file renamed over the record), which is then kept
// open. With sync, an in-place write is followed by one fdatasync.
func (l *dirLock) saveRecord(rec Record, sync bool) error {
	need := slotNeed(rec)
	if l.rf != nil && need <= uint64(l.lo.slotSize) && !oversized(need, l.lo.slotSize) {
		done, err := l.writeSlot(rec, sync)
		if done || err != nil {
			return err
		}
	}
	return l.rewrite(rec, sync)
}

// oversized reports whether a slot of size s is so much larger than a
// record needing need bytes that the file should shrink.
func oversized(need uint64, s int) bool {
	return s > 4096 && need*4 < uint64(s)
}

// writeSlot writes rec into the slot after the current one and, with sync,
// fdatasyncs the file. It reports done=false, with no error, if the record
// file on the path is no longer the one held open (removed or replaced
// behind the store's back), so that the caller writes a new file.
//
// If the write or the fdatasync fails, the slot written is marked never
// written (best effort) and the file is closed: the previous record stays
// the newest valid one on disk, and the next Save writes a new file.
func (l *dirLock) writeSlot(rec Record, sync bool) (done bool, err error) {
	if err := l.check(); err != nil {
		return false, err
	}
	name := recordName(l.key)
	if cur, err := os.Stat(l.d.path(name)); err != nil || !os.SameFile(cur, l.rfi) {
		l.closeRecord()
		return false, nil
	}
	next := 1 - l.lo.cur
	seq := l.lo.seq + 1
	off := l.lo.slotOffset(next)
	_, err = l.rf.WriteAt(appendSlot(make([]byte, 0, slotNeed(rec)), rec, seq), off)
	if err == nil && sync {
		err = l.rf.Datasync()
	}
	if err != nil {
		var empty [12]byte // checksum and sequence number: never written
		_, _ = l.rf.WriteAt(empty[:], off)
		l.closeRecord()
		return true, fmt.Errorf("persist: write %s: %w", name, err)
	}
	l.lo.cur, l.lo.seq = next, seq
	return true, nil
}

// rewrite writes rec as a new record file (temp file renamed over the
// record) and keeps it open for the next Save.
func (l *dirLock) rewrite(rec Record, sync bool) error {
	seq := l.lo.seq + 1
	l.closeRecord()
	b, lo, err := encodeFile(nil, rec, seq)
	if err != nil {
		return err
	}
	f, err := l.d.writeAtomic(recordName(l.key), b, sync, l.check)
	if err != nil {
		return err
	}
	l.keepRecord(f, lo)
	return nil
}
