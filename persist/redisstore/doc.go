// Package redisstore is a persist.Store that keeps lockstep's sessions in
// Redis, so that engines on several hosts can share them with the same
// guarantees as processes sharing one session directory: one turn at a
// time per session across every host, no lost updates, and a destroyed or
// regenerated ID that stays dead everywhere.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(client, redisstore.Config{})
//	...
//	eng, err := engine.New(store, engine.Config{})
//	...
//	defer client.Close()
//	defer store.Close()
//	defer eng.Close()
//
// It is its own Go module, so that applications of the file store never
// download a Redis client.
//
// # Leases and fencing
//
// The engine that holds a session holds a lease on it: a key holding a
// random token, with a TTL of Config.LeaseTTL, that the Store renews for
// all its sessions at once (one pipeline every third of LeaseTTL) and
// deletes when the engine passivates the session. Every write and delete
// is one server-side script that first checks that the token is still the
// caller's and that the record's version is the one the caller last loaded
// or wrote; a holder whose lease ran out (a paused process, a partition, a
// failover that lost the lease key) cannot write, and gets an error
// matching persist.ErrLockLost. A holder that dies loses its sessions
// LeaseTTL after its last renewal.
//
// # Replication and failover
//
// Redis replicates asynchronously: a failover (Sentinel, Cluster, a
// managed service) can lose writes the old primary acknowledged, leases
// included, and the old primary may accept writes for a moment after the
// replica was promoted. With Config.WaitReplicas = N, every lease, save,
// delete and quarantine is followed, in the same round trip and on the
// same connection to the session's primary, by WAIT N; a write that fewer
// replicas acknowledge fails with an error matching ErrNotReplicated and
// was not acknowledged. With N equal to the number of replicas a failover
// can promote, a failover loses no acknowledged write and never lets two
// holders commit on the same state. engine.OnCommitSync means nothing more
// here: WaitReplicas applies to every write, whatever the durability.
// docs/redis.md compares the topologies.
//
// # Hand-over
//
// An engine that wants a session another engine holds publishes a request
// on the store's channel (<prefix>handover); the holder's Store passes it to
// the engine, which hands an idle session over at once, and the release
// publishes a wake-up. When a message is lost (the subscription
// reconnects), waiters poll, from 2ms backing off to 100ms, and the
// holder sees the request at its next renewal.
//
// # Keys and expiry
//
// A session's keys are named after the SHA-256 of its ID (never the ID
// itself) and share one hash slot, so the store works on Redis Cluster:
// <prefix>{<sha256 hex>}:rec (the record: one string, a binary header with
// its version, times and owner, then the data), :lock (the lease) and
// :want (a pending hand-over request). The record carries a TTL at the
// session's expiry, so Redis removes expired sessions itself: Sweep finds
// nothing unless it is given a clock other than Redis's, and the engine's
// sweeper can be disabled. docs/redis.md describes the layout, the
// protocol, what a write costs and the failure modes.
//
// # Listing and operators
//
// Store implements persist.Inspector (Sessions, Inspect, LockKey: what
// Engine.DestroyOwner and the operator commands use) and
// persist.QuarantineInspector. Sessions walks the keyspace with SCAN: there
// is no owner index. The operator's command runs over Redis with
//
//	lockstep -redis ADDR [-prefix P] COMMAND
//
// (go install github.com/lockstep-go/lockstep/cmd/lockstep@latest).
//
// # Concurrency, errors and closing
//
// Every method of Store is safe for concurrent use; a Lock is used by one
// goroutine at a time, and the wanted callback given to Lock is called
// from the Store's goroutines and must not block. Callers branch on the
// errors of package persist: ErrNotFound, ErrLockLost, ErrReleased,
// ErrClosed, *CorruptError, and the context's error when Lock gives up;
// and on ErrNotReplicated (a Save's also matches persist.ErrLockLost);
// errors from Redis are wrapped with %w; Inspect and LockKey return
// persist.ErrBadKey for a malformed key. A Lock's calls to Redis are
// bounded by the client's ReadTimeout and WriteTimeout; Release waits at
// most 50ms and lets the release finish in the background. A Store runs
// two goroutines (its subscription and its lease renewal), and one per
// release still running, and must be closed with Close, after the engine
// that uses it and before the client.
package redisstore
