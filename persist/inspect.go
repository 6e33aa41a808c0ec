package persist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// ErrBadKey is returned by Inspect and LockKey of persist's stores for a key
// that is not 64 lowercase hexadecimal characters: no session has it, and
// it never reaches the file system.
var ErrBadKey = errors.New("persist: malformed session key (want 64 lowercase hex characters)")

// Key returns the name a store gives the session id: the lowercase hex
// SHA-256 of the ID. Stores name sessions by key so that a listing, a file
// name or a log line never shows a live session ID; operators address
// stored sessions by key.
func Key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Info describes a stored session without its values.
type Info struct {
	Key     string    // the session's key (see [Key])
	Owner   string    // Record.Owner; "" for none
	Created time.Time // Record.Created
	Expires time.Time // Record.Expires; zero for never
	Bytes   int64     // size of the stored record
	Locked  bool      // held by a holder (an engine) when it was listed
}

// Inspector is implemented by stores whose sessions can be found and read
// without their IDs: by operators (cmd/lockstep) and by the engine's
// Engine.DestroyOwner. persist.Memory and filestore.Store implement it.
//
// Contract, in addition to the Store's:
//   - Sessions calls fn once for each stored session whose owner is owner
//     (every session when owner is ""), in no particular order, without
//     waiting for any lock or taking a session's lock; it stops at fn's
//     first error and returns it. (To fill Info.Locked, the file store takes a
//     non-blocking shared flock of the session's lock file and drops it at
//     once: a locker that tries in that instant finds the lock busy and
//     retries, about 1 ms later if a release woke it.) Sessions saved or deleted while it runs may or may not be
//     seen. Records that do not decode are skipped (and not moved aside).
//   - Inspect reads the record of key without locking it (Info.Locked is
//     probed as in Sessions): a snapshot for display, which may be stale
//     by the time it returns. It returns an
//     error matching ErrNotFound when there is none.
//   - LockKey is Lock for a session known only by its key; it asks a holder
//     to hand the session over exactly as Lock does.
type Inspector interface {
	Sessions(ctx context.Context, owner string, fn func(Info) error) error
	Inspect(ctx context.Context, key string) (Record, Info, error)
	LockKey(ctx context.Context, key string, wanted func()) (Lock, error)
}

// Quarantined describes a record that a store set aside because it did not
// decode (see Lock.Quarantine), as read back for inspection.
type Quarantined struct {
	Key   string    // the key of the session the record belonged to
	Name  string    // where the record is now: its file name, for the file store
	Time  time.Time // when it was set aside
	Bytes int64     // its size

	// Record is the record as the store's format still decodes it, or the
	// zero Record when Err is set.
	Record Record

	// Err says why the store's format does not decode the record,
	// recomputed when it is read (the reason is not stored). It is nil when
	// the record decodes: then its holder set it aside because the values
	// in Record.Data did not decode with the holder's codec.
	Err error
}

// QuarantineInspector is implemented by stores that keep the records they
// set aside, so that operators can read them: filestore.Store implements it;
// persist.Memory drops such records.
//
// Quarantined calls fn once for each record set aside for the session of
// key, or for every session when key is "", in no particular order,
// without taking any lock; it stops at fn's first error and returns it.
type QuarantineInspector interface {
	Quarantined(ctx context.Context, key string, fn func(Quarantined) error) error
}
