package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// Sweep lists the directory once and removes, never waiting for a lock:
//   - records expired at now, with their lock files (under their lock,
//     after reading the record again);
//   - lock files without a record, under their lock, after checking that the
//     record still does not exist (a live locker's lock file is never removed);
//   - temp files whose session is not locked (their writer is gone);
//   - hand-over request files not refreshed for a minute (their waiter is gone).
//
// Anything locked by someone else is skipped and counted as Busy. Quarantined
// records and files matching none of the store's patterns are left alone.
// Sweep logs each error, continues, and returns them all joined.
func (d *Store) Sweep(ctx context.Context, now time.Time) (persist.SweepReport, error) {
	var rep persist.SweepReport
	if d.closed.Load() {
		return rep, persist.ErrClosed
	}
	f, err := os.Open(d.dir)
	if err != nil {
		return rep, fmt.Errorf("filestore: sweep: %w", err)
	}
	names, err := f.Readdirnames(-1)
	_ = f.Close()
	if err != nil {
		return rep, fmt.Errorf("filestore: sweep: %w", err)
	}

	records := make(map[string]bool)
	var locks, temps, wants []string
	for _, name := range names {
		switch key, kind := parseName(name); kind {
		case kindRecord:
			records[key] = true
		case kindLock:
			locks = append(locks, key)
		case kindTemp:
			temps = append(temps, name)
		case kindWant:
			wants = append(wants, name)
		}
	}

	// Errors are collected and returned, not logged: the caller (the
	// engine's sweeper) logs them, once.
	var errs []error
	for key := range records {
		if err := ctx.Err(); err != nil {
			return rep, errors.Join(append(errs, fmt.Errorf("filestore: sweep: %w", err))...)
		}
		if err := d.sweepRecord(key, now, &rep); err != nil {
			errs = append(errs, err)
		}
	}
	for _, key := range locks {
		if records[key] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, errors.Join(append(errs, fmt.Errorf("filestore: sweep: %w", err))...)
		}
		if err := d.sweepLock(key, &rep); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range temps {
		if err := ctx.Err(); err != nil {
			return rep, errors.Join(append(errs, fmt.Errorf("filestore: sweep: %w", err))...)
		}
		if err := d.sweepTemp(name, &rep); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range wants {
		fi, err := os.Lstat(d.path(name))
		if err != nil || now.Sub(fi.ModTime()) < staleWant || time.Since(fi.ModTime()) < staleWant {
			continue
		}
		if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("filestore: sweep %s: %w", name, err))
		}
	}
	return rep, errors.Join(errs...)
}

// sweepRecord removes the record of key if it has expired at now.
func (d *Store) sweepRecord(key string, now time.Time, rep *persist.SweepReport) error {
	name := recordName(key)
	expired, err := d.recordExpired(name, now)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // gone since the listing
	}
	if err != nil {
		return fmt.Errorf("filestore: sweep %s: %w", name, err)
	}
	if !expired {
		return nil
	}
	l, err := d.tryLock(key, nil, true)
	if err != nil {
		return err
	}
	if l == nil {
		rep.Busy++
		return nil
	}
	rec, err := l.Load()
	var ce *persist.CorruptError
	switch {
	case errors.As(err, &ce):
		d.log.Warn("filestore: sweep moved a corrupt record aside", "file", ce.Path, "quarantine", ce.Quarantine, "err", ce.Err)
		return l.Release()
	case errors.Is(err, persist.ErrNotFound):
		return l.Release()
	case err != nil:
		return errors.Join(err, l.Release())
	case !rec.Expired(now):
		return l.Release() // renewed since we read the header
	}
	if err := l.Delete(); err != nil {
		return err
	}
	rep.Expired++
	rep.Removed = append(rep.Removed, removedInfo(key, rec))
	return nil
}

// recordExpired reads a record without its lock and reports whether it
// has expired at now. A record that does not decode counts as expired, so
// that it is read again under its lock (and quarantined). A slot being
// written as it is read fails its checksum, and the other slot is read.
func (d *Store) recordExpired(name string, now time.Time) (bool, error) {
	b, err := os.ReadFile(d.path(name))
	if err != nil {
		return false, err
	}
	rec, err := decodeRecord(b)
	if err != nil {
		return true, nil
	}
	return rec.Expired(now), nil
}

// sweepLock removes the lock file of key if no record exists and nobody
// holds it. The file is unlinked while the sweeper holds its lock.
func (d *Store) sweepLock(key string, rep *persist.SweepReport) error {
	l, err := d.tryLock(key, nil, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed since the listing
	}
	if err != nil {
		return err
	}
	if l == nil {
		rep.Busy++
		return nil
	}
	name := recordName(key)
	_, err = os.Lstat(d.path(name))
	switch {
	case err == nil:
		return l.Release() // a record was written since the listing
	case !errors.Is(err, fs.ErrNotExist):
		return errors.Join(fmt.Errorf("filestore: sweep %s: %w", name, err), l.Release())
	}
	if err := l.unlinkLockFile(); err != nil {
		return errors.Join(err, l.Release())
	}
	rep.OrphanLocks++
	return l.Release()
}

// sweepTemp removes a temp file if its session is not locked: writers hold
// the lock while their temp file exists.
func (d *Store) sweepTemp(name string, rep *persist.SweepReport) error {
	key, _ := parseName(name)
	l, err := d.tryLock(key, nil, false)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err == nil && l == nil {
		rep.Busy++
		return nil
	}
	// Locked by us, or no lock file at all: then nobody holds the lock,
	// since a holder's lock file is on the path until it releases.
	rmErr := os.Remove(d.path(name))
	if rmErr == nil {
		rep.TempFiles++
	} else if errors.Is(rmErr, fs.ErrNotExist) {
		rmErr = nil
	} else {
		rmErr = fmt.Errorf("filestore: sweep %s: %w", name, rmErr)
	}
	if l != nil {
		return errors.Join(rmErr, l.Release())
	}
	return rmErr
}

// removedInfo describes an expired record a sweep removed.
func removedInfo(key string, rec persist.Record) persist.Info {
	return persist.Info{Key: key, Owner: rec.Owner, Created: rec.Created, Expires: rec.Expires, Bytes: int64(len(rec.Data))}
}
