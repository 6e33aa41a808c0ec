package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/gofrs/flock"

	"github.com/lockstep-go/lockstep/persist"
)

var (
	_ persist.Inspector           = (*Store)(nil)
	_ persist.QuarantineInspector = (*Store)(nil)
)

// readTries bounds how often an unlocked read of a record is repeated when
// it does not decode: a record written in place twice while it was read can
// show no valid slot, which a second read does not.
const readTries = 3

// Sessions lists the directory once and calls fn for each record of owner
// (every record when owner is ""), reading each record file without
// locking it. Finding a user's sessions reads every record: the file store
// keeps no index (docs/storage.md gives the cost). Locked is probed for
// the records passed to fn only, without disturbing a holder (see
// [Store.Inspect]). Records that do not decode, or vanish while they are
// listed, are skipped.
func (d *Store) Sessions(ctx context.Context, owner string, fn func(persist.Info) error) error {
	return d.eachFile(ctx, kindRecord, "", "list sessions", func(key, _ string) error {
		rec, info, err := d.read(key)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, persist.ErrCorrupt):
			return nil
		case err != nil:
			return fmt.Errorf("filestore: list sessions: %w", err)
		case owner != "" && rec.Owner != owner:
			return nil
		}
		if info.Locked, err = d.locked(key); err != nil {
			return fmt.Errorf("filestore: list sessions: %w", err)
		}
		return fn(info)
	})
}

// Inspect reads the record of key without locking it. The record is read
// from one open file: a record replaced by rename is read whole, old or
// new, and a slot being written in place fails its checksum, so the other
// slot is read. Locked tells whether anyone holds the session's lock file,
// probed with a non-blocking shared flock that is dropped at once: it never
// creates or removes a file and never waits. A locker that tries its lock
// in that instant finds it busy and retries: about 1 ms later if a release
// woke it, else at its next poll.
//
// A record that does not decode is reported as a *CorruptError (matching
// ErrCorrupt and ErrNotFound) and left where it is.
func (d *Store) Inspect(ctx context.Context, key string) (persist.Record, persist.Info, error) {
	if !isKey(key) {
		return persist.Record{}, persist.Info{}, fmt.Errorf("filestore: inspect %q: %w", key, persist.ErrBadKey)
	}
	if d.closed.Load() {
		return persist.Record{}, persist.Info{}, persist.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return persist.Record{}, persist.Info{}, fmt.Errorf("filestore: inspect %s: %w", key, err)
	}
	rec, info, err := d.read(key)
	if errors.Is(err, fs.ErrNotExist) {
		return persist.Record{}, persist.Info{}, persist.ErrNotFound
	}
	if err != nil {
		return persist.Record{}, persist.Info{}, err
	}
	if info.Locked, err = d.locked(key); err != nil {
		return persist.Record{}, persist.Info{}, fmt.Errorf("filestore: inspect %s: %w", key, err)
	}
	return rec, info, nil
}

// LockKey is Lock for the session of key: it waits for the lock in the
// same way and asks a holder, in any process, to hand the session over.
func (d *Store) LockKey(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	if !isKey(key) {
		return nil, fmt.Errorf("filestore: lock %q: %w", key, persist.ErrBadKey)
	}
	return d.lockKey(ctx, key, wanted)
}

// Quarantined calls fn for each quarantined record of key (of every key
// when key is ""), reading the files without locking anything. Time comes
// from the file's name (the moment it was set aside), Err from decoding the
// file again.
func (d *Store) Quarantined(ctx context.Context, key string, fn func(persist.Quarantined) error) error {
	if key != "" && !isKey(key) {
		return fmt.Errorf("filestore: quarantined %q: %w", key, persist.ErrBadKey)
	}
	return d.eachFile(ctx, kindCorrupt, key, "list quarantined", func(k, name string) error {
		b, err := os.ReadFile(d.path(name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed by an operator since the listing
		}
		if err != nil {
			return fmt.Errorf("filestore: read %s: %w", name, err)
		}
		q := persist.Quarantined{Key: k, Name: name, Bytes: int64(len(b))}
		q.Record, q.Err = decodeRecord(b)
		if q.Err != nil {
			q.Record = persist.Record{}
		}
		if n, err := strconv.ParseInt(name[recordNameLen+len(corruptInfix):], 10, 64); err == nil {
			q.Time = time.Unix(0, n)
		} else if fi, err := os.Lstat(d.path(name)); err == nil {
			q.Time = fi.ModTime()
		}
		return fn(q)
	})
}

// eachFile lists the directory once and calls fn with the key and name of
// each file of kind (of key only, unless key is ""), checking ctx before
// each call. It returns fn's first error as it is; what names the
// operation in the errors of its own.
func (d *Store) eachFile(ctx context.Context, kind fileKind, key, what string, fn func(key, name string) error) error {
	if d.closed.Load() {
		return persist.ErrClosed
	}
	names, err := d.list()
	if err != nil {
		return fmt.Errorf("filestore: %s: %w", what, err)
	}
	for _, name := range names {
		k, kd := parseName(name)
		if kd != kind || key != "" && k != key {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("filestore: %s: %w", what, err)
		}
		if err := fn(k, name); err != nil {
			return err
		}
	}
	return nil
}

// FileCounts counts the files of a session directory by what they are.
type FileCounts struct {
	Records     int // session records (session-<key>)
	Locks       int // lock files
	OrphanLocks int // lock files without a record that nobody holds: the next sweep removes them
	Temps       int // temp files: records being written, or left by a crash
	Wants       int // hand-over requests of waiting lockers
	Quarantined int // records set aside because they did not decode
	Other       int // names that match none of the store's patterns (never touched)
}

// Files lists the directory once and counts its files. A lock file without
// a record is probed (as in [Store.Inspect]) to tell an orphan from the lock
// of a session being created.
func (d *Store) Files(ctx context.Context) (FileCounts, error) {
	var c FileCounts
	if d.closed.Load() {
		return c, persist.ErrClosed
	}
	names, err := d.list()
	if err != nil {
		return c, fmt.Errorf("filestore: count files: %w", err)
	}
	records := make(map[string]bool)
	var locks []string
	for _, name := range names {
		key, kind := parseName(name)
		switch kind {
		case kindRecord:
			c.Records++
			records[key] = true
		case kindLock:
			c.Locks++
			locks = append(locks, key)
		case kindTemp:
			c.Temps++
		case kindWant:
			c.Wants++
		case kindCorrupt:
			c.Quarantined++
		default:
			c.Other++
		}
	}
	for _, key := range locks {
		if records[key] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return c, fmt.Errorf("filestore: count files: %w", err)
		}
		held, err := d.locked(key)
		if err != nil {
			return c, fmt.Errorf("filestore: count files: %w", err)
		}
		if !held {
			c.OrphanLocks++
		}
	}
	return c, nil
}

// list returns the names in the directory.
func (d *Store) list() ([]string, error) {
	f, err := os.Open(d.dir)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return names, err
}

// read reads and decodes the record of key without locking it, trying
// again when it does not decode. Locked is left false. A missing record
// is reported as fs.ErrNotExist, one that does not decode as a
// *CorruptError.
func (d *Store) read(key string) (persist.Record, persist.Info, error) {
	name := recordName(key)
	var err error
	for range readTries {
		var b []byte
		b, err = os.ReadFile(d.path(name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return persist.Record{}, persist.Info{}, err
			}
			return persist.Record{}, persist.Info{}, fmt.Errorf("filestore: read %s: %w", name, err)
		}
		var rec persist.Record
		if rec, err = decodeRecord(b); err == nil {
			info := persist.Info{Key: key, Owner: rec.Owner, Created: rec.Created, Expires: rec.Expires, Bytes: int64(len(b))}
			return rec, info, nil
		}
	}
	return persist.Record{}, persist.Info{}, &persist.CorruptError{Path: d.path(name), Err: err}
}

// locked reports whether someone holds the lock of key: this Store, or any
// other locker, which a non-blocking shared flock of the lock file detects.
// The probe opens the file read-only (it never creates one), and its
// shared lock is dropped at once.
func (d *Store) locked(key string) (bool, error) {
	d.mu.Lock()
	_, mine := d.holders[key]
	d.mu.Unlock()
	if mine {
		return true, nil
	}
	f := flock.New(d.path(lockName(key)), flock.SetFlag(os.O_RDONLY))
	ok, err := f.TryRLock()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil // nobody holds a lock without its file
	case err != nil:
		return false, fmt.Errorf("filestore: probe %s: %w", lockName(key), err)
	case !ok:
		return true, nil
	}
	if err := f.Unlock(); err != nil {
		return false, fmt.Errorf("filestore: probe %s: %w", lockName(key), err)
	}
	return false, nil
}
