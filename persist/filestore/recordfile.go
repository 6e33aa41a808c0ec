package filestore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/lockstep-go/lockstep/persist"
)

// storeFile is an open file of the store: a temp file being written, or a
// record file being read or written in place. *os.File wrapped in osFile is
// one; the package's tests wrap it to inject faults.
type storeFile interface {
	io.Writer
	io.WriterAt
	io.ReaderAt
	Stat() (fs.FileInfo, error)
	SameFile(fi fs.FileInfo) (bool, error) // whether the file is the one fi describes
	Datasync() error                       // fdatasync(2) where there is one, else fsync
	Close() error
	Name() string
}

// osFile is a storeFile on the operating system's file.
type osFile struct{ *os.File }

func (f osFile) Datasync() error { return datasync(f.File) }

func (f osFile) SameFile(fi fs.FileInfo) (bool, error) { return sameFile(f.File, fi) }

func createTemp(dir, pattern string) (storeFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// readFile reads all of f, whose size does not change while it is read:
// record files are replaced by rename, never truncated or extended. It
// also returns f's identity (fstat).
func readFile(f storeFile) ([]byte, fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	b := make([]byte, fi.Size())
	n, err := f.ReadAt(b, 0)
	if n == len(b) {
		return b, fi, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return nil, nil, err
}

// loadRecord reads and decodes the record, and remembers the layout of a
// version 2 file for Save to write its next slot in place.
func (l *dirLock) loadRecord() (persist.Record, error) {
	l.forget()
	name := recordName(l.key)
	f, err := l.d.openFile(l.d.path(name), os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return persist.Record{}, persist.ErrNotFound
	}
	if err != nil {
		return persist.Record{}, fmt.Errorf("filestore: read %s: %w", name, err)
	}
	b, fi, err := readFile(f)
	_ = f.Close()
	if err != nil {
		return persist.Record{}, fmt.Errorf("filestore: read %s: %w", name, err)
	}
	rec, lo, err := decodeFile(b)
	if err != nil {
		return persist.Record{}, l.quarantine(err)
	}
	if lo.version == recordVersion {
		l.lo, l.rfi = lo, fi // an old format stays unknown: the next Save rewrites the file
	}
	return rec, nil
}

// forget drops what the lock knows of the record file's layout: the next
// Save writes a new file.
func (l *dirLock) forget() { l.lo, l.rfi = layout{}, nil }

// saveRecord writes rec: in place, into the slot after the current one,
// when the lock knows the record file's layout and rec fits its slots;
// otherwise as a new file (temp file renamed over the record). With sync,
// an in-place write is followed by one fdatasync.
func (l *dirLock) saveRecord(rec persist.Record, sync bool) error {
	if err := checkTimes(rec); err != nil {
		return err
	}
	need := slotNeed(rec)
	if l.lo.version == recordVersion && need <= uint64(l.lo.slotSize) && !oversized(need, l.lo.slotSize) {
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

// writeSlot opens the record file, writes rec into the slot after the
// current one, fdatasyncs the file with sync, and closes it. It reports
// done=false, with no error, if the record file is gone (removed behind the
// store's back), so that the caller writes a new file.
//
// The file opened must be the one whose layout the lock knows (the same
// file, by inode): otherwise someone replaced the record after check found
// the lock valid (the lock was lost in between, or the file was replaced
// behind the store's back), and a write at the remembered offsets would
// land in a record this holder has not seen. Then the layout is forgotten
// and Save fails with ErrLockLost, writing nothing. (A file replaced after
// this check is unlinked: the write then lands in the old file, which no
// one reads.)
//
// If the write or the fdatasync fails, the slot written is marked never
// written and the layout is forgotten: the previous record stays the
// newest valid one on disk, and the next Save writes a new file. Marking
// is best effort: if it fails too, the slot may hold the new record
// although Save returned an error. A failed close after a successful write
// (and fdatasync, with sync) is not an error: the slot is valid, in the
// page cache for every reader (and on disk with sync), and the record
// stands as written; it is logged.
func (l *dirLock) writeSlot(rec persist.Record, sync bool) (done bool, err error) {
	name := recordName(l.key)
	if err := l.check(); err != nil {
		if _, derr := os.Stat(l.d.dir); errors.Is(derr, fs.ErrNotExist) {
			// The whole directory is gone: nobody can lock the session
			// until it is back. Fail as writing a new file there would.
			return true, fmt.Errorf("filestore: write %s: %w", name, derr)
		}
		return true, err
	}
	f, err := l.d.openFile(l.d.path(name), os.O_WRONLY)
	if errors.Is(err, fs.ErrNotExist) {
		l.forget()
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("filestore: write %s: %w", name, err)
	}
	same, err := f.SameFile(l.rfi)
	if err == nil && !same {
		err = fmt.Errorf("record replaced behind its holder's back: %w", persist.ErrLockLost)
	}
	if err != nil {
		_ = f.Close()
		l.forget()
		return true, fmt.Errorf("filestore: write %s: %w", name, err)
	}
	next := 1 - l.lo.cur
	seq := l.lo.seq + 1
	off := l.lo.slotOffset(next)
	_, err = f.WriteAt(appendSlot(make([]byte, 0, slotNeed(rec)), rec, seq), off)
	if err == nil && sync {
		err = f.Datasync()
	}
	if err != nil {
		var empty [12]byte // checksum and sequence number: never written
		_, _ = f.WriteAt(empty[:], off)
		_ = f.Close()
		l.forget()
		return true, fmt.Errorf("filestore: write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		l.d.log.Warn("filestore: close after a successful write, which stands", "file", name, "err", err)
	}
	l.lo.cur, l.lo.seq = next, seq
	return true, nil
}

// rewrite writes rec as a new record file (temp file renamed over the
// record) and remembers its layout for the next Save.
func (l *dirLock) rewrite(rec persist.Record, sync bool) error {
	seq := l.lo.seq + 1
	l.forget()
	b, lo, err := encodeFile(nil, rec, seq)
	if err != nil {
		return err
	}
	fi, err := l.d.writeAtomic(recordName(l.key), b, sync, l.check)
	if err != nil {
		return err
	}
	l.lo, l.rfi = lo, fi
	return nil
}
