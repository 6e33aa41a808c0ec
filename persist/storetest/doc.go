// Package storetest checks that a persist.Store keeps the contract written
// on persist.Store and persist.Lock, the way testing/fstest checks an
// fs.FS. Every store lockstep ships runs it in its tests, and a third-party
// store should too:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) persist.Store {
//			return mystore.New(...) // a fresh, empty store
//		})
//	}
//
// Run checks, each in a subtest of its own: that Load of a session without
// a record reports persist.ErrNotFound; that records round-trip whole and
// do not share memory with the caller; that a Lock excludes every other
// Lock of its session until it is released, that a waiting Lock ends with
// an error matching its context's error, and that concurrent increments
// lose nothing; Delete, Quarantine (a *persist.CorruptError matching both
// persist.ErrCorrupt and persist.ErrNotFound) and Release, and that every
// method of a released Lock returns persist.ErrReleased and changes
// nothing; Regenerate and Destroy as the engine does them through the
// store; Sweep removing what has expired, skipping what is locked (Busy)
// without waiting for it and without disturbing a held Lock; Close leaving
// held Locks valid; and, for stores that hand sessions over (see
// HandsOver), that a holder's wanted callback is called when another Lock
// waits.
//
// For a store that implements persist.Inspector, the subtests under
// "Inspector" check it too: that Sessions lists each saved session once
// with its metadata, filters by owner, reports Locked for a held session
// without waiting for it, and stops at its callback's first error; that
// Inspect returns the record at once, also while the session is held;
// that LockKey and Lock exclude each other and reach the same record, and
// that LockKey asks a holder to hand over (with HandsOver); and that a
// malformed key is refused. A store that does not implement it skips them.
//
// Run takes no longer than its waits: a Lock that must not succeed is
// given 50 ms, and what must happen (a hand-over, a Lock that must
// succeed) is given 10 s (see Patience) before the subtest fails. Options
// declare what a store does beyond the bare contract (HandsOver) or does
// not do yet (WithoutOwner).
//
// Like testing/fstest, the package depends on the standard library and
// persist alone: it adds nothing to a store's test binary.
//
// Run calls open once per subtest, from that subtest's goroutine, and
// closes each store it got when the subtest ends; open should not close it
// too unless the store's Close may be called twice. Run starts goroutines
// of its own and waits for every one of them before it returns.
package storetest
