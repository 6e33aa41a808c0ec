package filestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/gofrs/flock"

	"github.com/lockstep-go/lockstep/persist"
)

// dirLock is a held lock of a Store: the flock of the session's lock file.
type dirLock struct {
	d        *Store
	key      string
	f        *flock.Flock
	h        *holder
	released bool
	waited   bool // Lock had to wait for another holder (a hand-over)

	// The record file's layout, known from Load or Save, for Save to write
	// the next slot in place; zero when unknown (not loaded yet, an old
	// format, after a failed write): Save then writes a new file.
	lo layout
	// rfi is the identity (fstat) of the record file that lo describes:
	// Save writes in place only into that file.
	rfi fs.FileInfo

	lfi fs.FileInfo // the held lock file's identity (fstat), read by the first check
}

// Waited reports whether Lock had to wait for another holder to release.
func (l *dirLock) Waited() bool { return l.waited }

var (
	_ persist.Lock             = (*dirLock)(nil)
	_ persist.HandOverReporter = (*dirLock)(nil)
)

// Load reads and decodes the record. A record that does not decode is
// moved to a quarantine name and reported as a *CorruptError.
func (l *dirLock) Load() (persist.Record, error) {
	if l.released {
		return persist.Record{}, persist.ErrReleased
	}
	return l.loadRecord()
}

// Save writes rec into the record file in place, or as a new file when
// there is none yet, it has an old format or rec outgrows its slots; see
// saveRecord.
func (l *dirLock) Save(rec persist.Record, sync bool) error {
	if l.released {
		return persist.ErrReleased
	}
	return l.saveRecord(rec, sync)
}

// check returns an error matching ErrLockLost if the lock file on the path
// is no longer the one this lock holds: someone removed it (or the
// directory) behind the store's back, so another locker may be in.
//
// The held file's identity is read once (fstat) and kept: an open
// descriptor's file never changes, and each commit saves a system call.
func (l *dirLock) check() error {
	name := lockName(l.key)
	var err error
	if l.lfi == nil {
		l.lfi, err = l.f.Stat()
	}
	if err == nil {
		var cur fs.FileInfo
		if cur, err = os.Stat(l.d.path(name)); err == nil && !os.SameFile(l.lfi, cur) {
			err = errReplaced
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errReplaced):
		return fmt.Errorf("filestore: %s: lock file removed or replaced: %w", name, persist.ErrLockLost)
	default:
		return fmt.Errorf("filestore: check lock %s: %w", name, err)
	}
}

// Delete removes the record and, while still holding it, the lock file,
// then releases the lock.
func (l *dirLock) Delete() error {
	if l.released {
		return persist.ErrReleased
	}
	if err := l.check(); err != nil {
		// Another locker may own the files now: leave them alone.
		return errors.Join(err, l.release())
	}
	l.forget()
	name := recordName(l.key)
	var errs []error
	if err := os.Remove(l.d.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("filestore: delete %s: %w", name, err))
	} else {
		errs = append(errs, l.unlinkLockFile(), l.d.syncDeletion(name))
	}
	errs = append(errs, l.release())
	return errors.Join(errs...)
}

// Quarantine moves the record aside, removes the lock file while holding
// it, and releases the lock.
func (l *dirLock) Quarantine(cause error) error {
	if l.released {
		return persist.ErrReleased
	}
	err := l.quarantine(cause)
	var errs []error
	if err.Quarantine != "" {
		errs = append(errs, l.unlinkLockFile())
	}
	if rerr := errors.Join(append(errs, l.release())...); rerr != nil {
		l.d.log.Warn("filestore: release after quarantine", "key", l.key, "err", rerr)
	}
	return err
}

// Release releases the lock; the record and the lock file stay.
func (l *dirLock) Release() error {
	if l.released {
		return persist.ErrReleased
	}
	return l.release()
}

// quarantine renames the record to session-<key>.corrupt-<unix nanos>.
func (l *dirLock) quarantine(cause error) *persist.CorruptError {
	l.forget()
	path := l.d.path(recordName(l.key))
	q := l.d.path(recordName(l.key) + corruptInfix + strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.Rename(path, q); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			cause = errors.Join(cause, fmt.Errorf("filestore: quarantine %s: %w", recordName(l.key), err))
		}
		return &persist.CorruptError{Path: path, Err: cause}
	}
	if err := l.d.syncDeletion(recordName(l.key)); err != nil {
		cause = errors.Join(cause, err)
	}
	return &persist.CorruptError{Path: path, Quarantine: q, Err: cause}
}

// unlinkLockFile removes the lock file; the caller holds its lock, so a
// locker that opened the old file fails its inode check and retries.
func (l *dirLock) unlinkLockFile() error {
	if err := os.Remove(l.d.path(lockName(l.key))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: delete %s: %w", lockName(l.key), err)
	}
	return nil
}

// release drops the flock, then removes the hand-over requests the holder
// saw (which wakes their waiters, in any process) and wakes the waiters of
// this Store.
func (l *dirLock) release() error {
	l.released = true
	d := l.d
	d.mu.Lock()
	if d.holders[l.key] == l.h {
		delete(d.holders, l.key)
	}
	wants := l.h.wants
	l.h.wants = nil
	d.mu.Unlock()

	err := l.f.Unlock()
	for w := range wants {
		_ = os.Remove(w)
	}
	d.waiters.Wake(l.key)
	if err != nil {
		return fmt.Errorf("filestore: unlock %s: %w", lockName(l.key), err)
	}
	return nil
}

// writeAtomic replaces the file name in the directory with b: a temp file
// is written (and fdatasync'd with sync), check is called, the temp file is
// renamed over name, and the directory is fsync'd (with sync). It returns
// the identity (fstat) of the file now on name. On an error before the
// rename, the temp file is removed and the old file is left as it was. An
// error from the directory's fsync comes after the rename: the new file is
// in place (and every reader sees it) although writeAtomic failed, and it
// may not survive a power failure; its identity is returned with the error.
func (d *Store) writeAtomic(name string, b []byte, sync bool, check func() error) (fi fs.FileInfo, err error) {
	f, err := d.createTemp(d.dir, name+tempInfix+"*")
	if err != nil {
		return nil, fmt.Errorf("filestore: write %s: %w", name, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if err != nil {
			if !renamed {
				_ = os.Remove(tmp)
			}
			err = fmt.Errorf("filestore: write %s: %w", name, err)
		}
	}()
	if _, err = f.Write(b); err != nil {
		_ = f.Close()
		return nil, err
	}
	if sync {
		if err = f.Datasync(); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	if fi, err = f.Stat(); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err = f.Close(); err != nil {
		return nil, err
	}
	if err = check(); err != nil {
		return nil, err
	}
	if err = os.Rename(tmp, d.path(name)); err != nil {
		return nil, err
	}
	renamed = true
	if sync {
		if err = d.syncDir(d.dir); err != nil {
			return fi, fmt.Errorf("sync directory after the rename, which stands: %w", err)
		}
	}
	return fi, nil
}

// syncDeletion makes the removal (unlink or rename) of name durable when
// the Store syncs deletions: it fsyncs the directory.
func (d *Store) syncDeletion(name string) error {
	if !d.syncDeletes {
		return nil
	}
	if err := d.syncDir(d.dir); err != nil {
		return fmt.Errorf("filestore: sync deletion of %s: %w", name, err)
	}
	return nil
}

// syncDir fsyncs a directory, making renames in it durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
