// Package cli implements the lockstep command: the commands ls, show, rm,
// revoke, sweep and stats over any store that is a persist.Store and a
// persist.Inspector, chosen by the flag of one of its backends ([Backends]:
// -dir DIR for a session directory, -redis ADDR for Redis).
//
// [Main] runs one command line and returns its exit status: 0 on success,
// 1 on an operational error, 2 on bad usage, with a one-line message on
// stderr. A command never breaks a live holder's lock: listing and
// inspecting read without locking, and rm and revoke lock sessions the way
// an engine does, asking a live holder, in any process, to hand them over.
// docs/operations.md is the manual.
//
// Main may be called concurrently with different writers; each call opens
// and closes its own store.
package cli
