// Package pgstore is a persist.Store that keeps lockstep's sessions in
// PostgreSQL, so that engines on several hosts can share them with the same
// guarantees as processes sharing one session directory: one turn at a time
// per session across every host, no lost updates, and a destroyed or
// regenerated ID that stays dead everywhere. It works unchanged behind
// PgBouncer in transaction pooling mode.
//
//	pool, err := pgxpool.New(ctx, "postgres://app@db/app")
//	...
//	store, err := pgstore.New(ctx, pool, pgstore.Config{})
//	...
//	eng, err := engine.New(store, engine.Config{})
//	...
//	defer pool.Close()
//	defer store.Close()
//	defer eng.Close()
//
// It is its own Go module, so that applications of the other stores never
// download a PostgreSQL driver.
//
// # Rows, leases and fencing
//
// Each session is one row of Config.Table, keyed by the SHA-256 of its ID
// (the ID itself is never stored), holding the record (data, owner,
// created, expires), a version, and a lease: a random token and a deadline
// set by the server's clock. An engine that holds a session holds its
// lease; the Store renews the leases of all the sessions it holds in one
// statement every third of Config.LeaseTTL. Every write (save, delete,
// quarantine) is one statement that checks the holder's token and the
// version it last loaded or wrote (a save calls a PL/pgSQL function that
// New creates, whose plan the server keeps), so a holder whose lease
// passed to another (a paused process, a partition) writes nothing and
// gets an error matching persist.ErrLockLost. Since reads are served from the engine's
// memory, a holder also lets a session go once LeaseTTL has passed, by its
// own clock, since it sent its last successful renewal: it refuses to
// write, and the engine is told to drop the session (checked every 250ms,
// and at once when a paused process resumes). A holder that dies loses its
// sessions LeaseTTL after its last renewal.
//
// The Store uses no session-level state on a connection (no advisory locks
// held across statements, no prepared statements: every statement is sent
// with pgx.QueryExecModeExec), so the pool may reach the server through
// PgBouncer in transaction pooling mode.
//
// # Hand-over
//
// An engine that wants a session another engine holds marks the row and
// sends NOTIFY on the store's channel; the holder's Store hears it on one
// dedicated connection (opened from the pool's ConnConfig, not taken from
// the pool) and passes it to the engine, which hands an idle session over
// at once; the release notifies the waiter. The Store checks that LISTEN
// works by notifying itself from another connection (after every connect,
// and every 30 seconds): behind PgBouncer in transaction mode it does not,
// and then holders look for requests every 250 ms and waiters poll, asking
// again, so that a hand-over takes well under a second.
//
// # Expiry and listing
//
// Expired records are deleted by Sweep in batches, skipping rows whose
// lease is held, through an index on the expiry. Store implements
// persist.Inspector (with an index on the owner, for Engine.DestroyOwner
// and the operator commands) and persist.QuarantineInspector: records set
// aside go to the table <Table>_quarantine. docs/postgres.md describes the
// table, the protocol, PgBouncer and the failure modes.
//
// # Concurrency, errors and closing
//
// Every method of Store is safe for concurrent use; a Lock is used by one
// goroutine at a time, and the wanted callback given to Lock is called from
// the Store's goroutines and must not block. Callers branch on the errors
// of package persist: ErrNotFound, ErrLockLost, ErrReleased, ErrClosed,
// *CorruptError, and the context's error when Lock gives up; errors from
// the server are wrapped with %w; Inspect and LockKey return
// persist.ErrBadKey for a malformed key. Each statement is bounded by
// Config.StatementTimeout. A Store runs two goroutines (its listener and
// its lease renewal) and must be closed with Close, after the engine that
// uses it and before the pool.
package pgstore
