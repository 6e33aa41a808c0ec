// Package filestore is a persist.Store that keeps lockstep's sessions in a
// directory, which the processes of one host can share: Open returns a
// Store, which is also a persist.Inspector and a
// persist.QuarantineInspector. engine.Open(dir, cfg) opens one for the
// engine.
//
// A Store keeps each session in two files of one directory, named after the
// SHA-256 of the session ID (the ID itself never appears on disk, in errors
// or in logs): session-<key> holds the record, session-<key>.lock is the
// file that gofrs/flock locks. A record file has two checksummed slots; the
// holder writes each commit in place into the older slot, so a write torn at
// any byte leaves the previous record readable, never a torn one; with sync,
// the commit is followed by one fdatasync. Only a new file (creation, growth
// past a slot, a record of the previous format) is written to a temp file
// and renamed over the old one. A Lock of a Store is an flock, so it
// excludes other processes and other Stores on the same directory in this
// process alike, and a process that dies releases its locks. Locking never
// blocks in the kernel: a Lock that finds the session taken asks the
// holder, through a request file in the directory that the holder's
// directory watch (inotify on Linux, fsnotify elsewhere) sees, to hand it over (the holder's wanted callback), and
// is woken when the holder releases; without notifications it polls, from
// 1 ms backing off (x4) to 64 ms (32 ms without a working watch), and from
// 1 ms again after each wake-up. A holder without a working watch (inotify
// limits, the directory removed or replaced) polls for requests every 50 ms
// and watches again as soon as it can. Sweep removes expired records,
// orphaned lock files, abandoned temp files and stale request files, never
// a lock file that someone holds. Files counts the directory's files by
// kind. The file layout, record format and protocols are described in
// docs/storage.md. The file store needs a local file system: flock over NFS
// is unreliable.
//
// # Concurrency
//
// Every method of Store is safe for concurrent use. A Lock is used by one
// goroutine at a time. The wanted callback given to Lock is called from the
// Store's monitor goroutine and must not block.
//
// # Errors
//
// The errors are persist's: ErrNotFound, ErrCorrupt and *CorruptError (a
// record that did not decode, moved aside by Load or Quarantine; Inspect
// reports one as a *CorruptError too, but leaves it where it is),
// ErrReleased, ErrLockLost (Save or Delete found the lock file removed or
// replaced, or Save the record file replaced, behind the store's back:
// release and lock again), ErrClosed (the Store was closed), ErrBadKey (a
// malformed key given to an Inspector method), and the context's error when
// Lock gives up waiting. Errors from the file system are wrapped with the
// file's name and %w.
//
// # Closing
//
// A Store runs a monitor goroutine (the directory watcher and poller) and
// must be closed with Close, which stops it and waits for it. Every Lock
// must be released (Release, Delete or Quarantine); a Lock still held after
// Close stays valid until released.
package filestore
