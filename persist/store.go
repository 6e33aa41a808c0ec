package persist

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound reports that no record exists for a session ID.
var ErrNotFound = errors.New("persist: session not found")

// ErrCorrupt reports a record that could not be decoded. Errors that match it
// also match ErrNotFound: a record that cannot be read is no session.
var ErrCorrupt = errors.New("persist: corrupt record")

// CorruptError describes a record that failed to decode and was moved aside.
type CorruptError struct {
	Path       string // the record's file (or another locator of the record)
	Quarantine string // where the record was moved; empty if it could not be moved
	Err        error  // why decoding failed
}

// Error names the record, where it went, and why it did not decode.
func (e *CorruptError) Error() string {
	if e.Quarantine != "" {
		return fmt.Sprintf("persist: corrupt record %s (moved to %s): %v", e.Path, e.Quarantine, e.Err)
	}
	return fmt.Sprintf("persist: corrupt record %s: %v", e.Path, e.Err)
}

// Unwrap returns the decoding error.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes a CorruptError match both ErrCorrupt and ErrNotFound.
func (e *CorruptError) Is(target error) bool {
	return target == ErrCorrupt || target == ErrNotFound
}

// ErrLockLost reports that a held lock no longer protects its session:
// another locker may have taken it (the file store's lock file was removed
// or replaced, a Redis lease ran out), or the record was replaced by
// someone other than the holder. Save refuses to write then; the caller
// should drop what it holds, release the Lock and lock again. Each store's
// error adds its own detail.
var ErrLockLost = errors.New("persist: lock lost")

// ErrReleased is returned by every method of a Lock that was already
// released (by Release, Delete or Quarantine); the call does nothing.
var ErrReleased = errors.New("persist: lock already released")

// Record is the stored form of one session. The store treats Data as opaque.
type Record struct {
	Created time.Time // when the session was created
	Expires time.Time // when the session dies unless it is used again; the sweeper removes it after this
	Owner   string    // who the session belongs to (a user ID); "" for none
	Data    []byte    // the encoded values
}

// Expired reports whether the record is dead at now.
func (r Record) Expired(now time.Time) bool {
	return !r.Expires.IsZero() && !now.Before(r.Expires)
}

// Store holds session records and serialises access to each of them,
// across goroutines and, for stores that are shared, across processes.
//
// Contract:
//   - Lock returns only once the caller holds the session's exclusive lock,
//     whether or not a record exists for it, or with an error once ctx ends
//     (an error for which errors.Is(err, ctx.Err()) holds). While a Lock is
//     held, no other holder, in this or any other process, can load, save or
//     delete that session.
//   - If another process wants a session this process holds, the store calls
//     wanted (when it is not nil) from a goroutine of its own, without any of
//     the store's locks held; the holder should release the lock soon.
//     wanted may be called more than once and after Release; it must not block.
//   - Save does not retain rec.Data once it returns, and the Data that Load
//     returns belongs to the caller: neither side's later changes to those
//     bytes reach the other. A Record round-trips as saved: Created and
//     Expires (to the nanosecond, compared with time.Time.Equal), Owner
//     and Data. The file store and the Redis store encode times as int64 Unix
//     nanoseconds: Save rejects, with an error and without writing, a
//     Created or Expires that is not the zero time and falls outside the
//     years 1678 to 2262 or is exactly the Unix epoch (Memory keeps any).
//   - IDs reaching a Store have been validated by the caller; a store may
//     still reject IDs it cannot represent.
//   - Sweep removes what has expired at now and whatever litter the store
//     leaves (orphaned lock files, temp files), skipping without waiting
//     anything locked by someone else, and continues after errors: the
//     returned error joins every error it met. SweepReport.Removed lists
//     each expired record it removed (key, owner, created, expires).
//   - All methods are safe for concurrent use. Close releases the store's
//     resources and background goroutines; Locks still held stay valid
//     until released.
type Store interface {
	Lock(ctx context.Context, id string, wanted func()) (Lock, error)
	Sweep(ctx context.Context, now time.Time) (SweepReport, error)
	Close() error
}

// Lock is a held lock on one session, and the only way to read or change
// its record. A Lock is used by one goroutine at a time.
//
// A Lock may also implement [HandOverReporter].
type Lock interface {
	// Load reads the record. It returns an error matching ErrNotFound if
	// there is none; a record that does not decode is moved aside and
	// reported as a *CorruptError (which matches ErrNotFound too).
	Load() (Record, error)
	// Save replaces the record atomically: after a crash at any moment the
	// store holds either the old record or the new one. With sync, Save
	// returns only once the new record is durable (fsync or fdatasync of
	// the file, and of the directory if the file was created or renamed).
	// If the store can tell that the lock was lost, Save writes nothing and
	// returns an error matching ErrLockLost. Any other error may come after
	// the new record was committed (the file store's fsync of the directory
	// after its rename failed; Redis applied the write but its reply was
	// lost): the caller cannot tell, and must not assume the old record is
	// what the store holds.
	Save(rec Record, sync bool) error
	// Delete removes the record, if any, and releases the lock. A store
	// with lock files removes the lock file too, while still holding it.
	Delete() error
	// Quarantine moves the record aside because its data could not be
	// decoded by the caller (cause says why), and releases the lock.
	// It returns a *CorruptError describing where the record went.
	Quarantine(cause error) error
	// Release releases the lock; the record stays. Every method of a
	// released Lock returns an error matching ErrReleased and does nothing.
	Release() error
}

// HandOverReporter is an optional interface of a Lock: Waited reports
// whether Store.Lock had to wait for another holder to release the session
// (a hand-over). The engine counts such locks, and the time it waited for
// them, in its Stats; a Lock without the method counts as one that did not
// wait. The locks of Memory, the file store and the Redis store implement
// it.
type HandOverReporter interface {
	Waited() bool
}

// SweepReport counts what one sweep did.
type SweepReport struct {
	Expired     int // expired sessions removed
	OrphanLocks int // lock files without a session file removed
	TempFiles   int // abandoned temp files removed
	Busy        int // entries skipped because another holder had them locked

	// Removed describes each expired record the sweep removed (Expired of
	// them), with its key and owner, so that the engine can report a
	// SessionExpired event for each. Bytes is the size of the record's data.
	Removed []Info
}

// Add returns the sum of two reports.
func (r SweepReport) Add(o SweepReport) SweepReport {
	return SweepReport{
		Expired:     r.Expired + o.Expired,
		OrphanLocks: r.OrphanLocks + o.OrphanLocks,
		TempFiles:   r.TempFiles + o.TempFiles,
		Busy:        r.Busy + o.Busy,
		Removed:     append(r.Removed[:len(r.Removed):len(r.Removed)], o.Removed...),
	}
}

// DeleteIf deletes the record held by l if match accepts it, and lets go
// of l either way (Delete or Release). It reports whether it deleted a
// record. A record that is gone is no match: l is deleted, which leaves no
// lock file behind. A record that does not decode is moved aside by Load
// and its *CorruptError returned (joined with Delete's error, if any).
// Operators (cmd/lockstep rm and revoke) and Engine.DestroyOwner destroy
// sessions they know only by key this way.
func DeleteIf(l Lock, match func(Record) bool) (bool, error) {
	rec, err := l.Load()
	switch {
	case errors.Is(err, ErrCorrupt):
		return false, errors.Join(err, l.Delete())
	case errors.Is(err, ErrNotFound):
		return false, l.Delete()
	case err != nil:
		return false, errors.Join(err, l.Release())
	case match != nil && !match(rec):
		return false, l.Release()
	}
	if err := l.Delete(); err != nil {
		return false, err
	}
	return true, nil
}

// ErrClosed is returned by the methods of a store that was closed (Lock,
// Sweep, the Inspector methods).
var ErrClosed = errors.New("persist: store closed")
