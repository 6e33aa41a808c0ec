// Package persist is the contract between lockstep's engine and the stores
// that keep its session records: the Store and Lock interfaces, the Record,
// the errors a store returns, the optional interfaces a store may implement
// (Inspector, QuarantineInspector, HandOverReporter), and an in-memory store
// (Memory). The stores live in packages of their own: persist/filestore
// keeps sessions in a directory that the processes of one host share,
// persist/redisstore (a module of its own) in Redis. persist/storetest
// checks that a Store keeps the contract.
//
// A Store hands out one exclusive Lock per session at a time; a Lock is the
// only way to load, save, delete or quarantine the session's Record, whose
// Data the store treats as opaque bytes.
//
// An Inspector's sessions can be listed (Sessions, optionally one owner's),
// read (Inspect) and locked (LockKey) by key, the SHA-256 of the ID (Key),
// without the IDs, for operators (cmd/lockstep) and Engine.DestroyOwner. A
// QuarantineInspector also reads back the records it set aside
// (Quarantined) with the reason they do not decode.
//
// For Store implementations, Waiters keeps the callers waiting for a
// session's lock, wakes them, and runs their wait (Wait, polling as a Poll
// says); Holders keeps the Locks that hold sessions through a store that
// leases them, for its hand-over requests; CheckTime tells which times a
// store that encodes them as Unix nanoseconds (UnixNano, TimeOfUnixNano)
// can keep.
//
// # Concurrency
//
// Every method of Memory, Waiters and Holders, and every function, is safe
// for concurrent use; the Store contract asks the same of every store. A Lock
// is used by one goroutine at a time.
//
// # Errors
//
// Callers branch on ErrNotFound (no record; also matched by every
// *CorruptError), ErrCorrupt and *CorruptError (a record that did not decode
// and was moved aside by Load or Quarantine; an Inspector's Inspect reports
// a record that does not decode as a *CorruptError too, but leaves it where
// it is), ErrReleased (a method of a Lock already released, deleted or
// quarantined), ErrLockLost (Save or Delete found that the lock was lost:
// release and lock again), ErrClosed (the store was closed), ErrBadKey (a
// malformed key given to an Inspector method), and the context's error when
// Lock gives up waiting.
//
// # Closing
//
// Every Lock must be released (Release, Delete or Quarantine). A Memory
// needs no Close, but has one to satisfy Store.
package persist
