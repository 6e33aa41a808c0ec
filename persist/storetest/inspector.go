package storetest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/lockstep-go/lockstep/persist"
)

// inspectorChecks are the subtests of Inspector, for stores that implement
// persist.Inspector.
func (s *suite) inspectorChecks() []check {
	return []check{
		{"Sessions", s.inspectSessions},
		{"SessionsByOwner", s.inspectByOwner},
		{"SessionsLocked", s.inspectLocked},
		{"SessionsStops", s.inspectStops},
		{"Inspect", s.inspect},
		{"InspectHeld", s.inspectHeld},
		{"LockKey", s.lockKey},
		{"LockKeyWanted", s.lockKeyWanted},
		{"BadKey", s.badKey},
	}
}

func isInspector(st persist.Store) bool {
	_, ok := st.(persist.Inspector)
	return ok
}

// inspector opens a store, skipping t if it is no persist.Inspector.
func (s *suite) inspector(t *testing.T) (persist.Store, persist.Inspector) {
	t.Helper()
	st := s.store(t)
	in, ok := st.(persist.Inspector)
	if !ok {
		t.Skipf("%T does not implement persist.Inspector", st)
	}
	return st, in
}

// list returns what Sessions passes to fn, by key.
func (s *suite) list(t *testing.T, in persist.Inspector, owner string) map[string]persist.Info {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.patience)
	defer cancel()
	got := make(map[string]persist.Info)
	err := in.Sessions(ctx, owner, func(info persist.Info) error {
		_, twice := got[info.Key]
		expect(t, !twice, "Sessions passed key %s twice, want once", info.Key)
		got[info.Key] = info
		return nil
	})
	mustNoError(t, err, "Sessions")
	return got
}

// Sessions lists each saved session once, by key, with its metadata; a
// session locked but never saved, or deleted, is not listed.
func (s *suite) inspectSessions(t *testing.T) {
	st, in := s.inspector(t)
	ids := []string{newID(), newID(), newID()}
	recs := make(map[string]persist.Record)
	for i, id := range ids {
		rec := record("values " + string(rune('a'+i)))
		s.save(t, st, id, rec)
		recs[persist.Key(id)] = rec
	}
	gone := newID()
	s.save(t, st, gone, record("deleted"))
	mustNoError(t, s.lock(t, st, gone).Delete(), "Delete")
	unsaved := s.lock(t, st, newID())
	defer func() { noError(t, unsaved.Release(), "Release") }()

	got := s.list(t, in, "")
	sameKeys(t, got, slices.Collect(maps.Keys(recs)), "keys listed")
	for key, rec := range recs {
		info := got[key]
		if !s.cfg.noOwner {
			equal(t, info.Owner, rec.Owner, "Owner of %s", key)
		}
		expect(t, rec.Created.Equal(info.Created), "Created: got %v, want %v", info.Created, rec.Created)
		expect(t, rec.Expires.Equal(info.Expires), "Expires: got %v, want %v", info.Expires, rec.Expires)
		expect(t, info.Bytes > 0, "Bytes of %s: got %d, want more than 0", key, info.Bytes)
		equal(t, info.Locked, false, "Locked of %s, which nobody holds", key)
	}
}

// Sessions with an owner lists that owner's sessions only.
func (s *suite) inspectByOwner(t *testing.T) {
	if s.cfg.noOwner {
		t.Skip("the store does not keep Owner (WithoutOwner)")
	}
	st, in := s.inspector(t)
	want := map[string][]string{}
	for i, owner := range []string{"alice", "bob", "alice", "", "carol"} {
		id := newID()
		rec := record("session " + string(rune('0'+i)))
		rec.Owner = owner
		s.save(t, st, id, rec)
		want[owner] = append(want[owner], persist.Key(id))
	}
	for _, owner := range []string{"alice", "bob", "carol", "dave"} {
		got := s.list(t, in, owner)
		sameKeys(t, got, want[owner], "Sessions of %q", owner)
		for key, info := range got {
			equal(t, info.Owner, owner, "Owner of %s listed for %q", key, owner)
		}
	}
	equal(t, len(s.list(t, in, "")), 5, "number of Sessions of every owner")
}

// Sessions reports Locked for a session held now, and not once released;
// it does not wait for the held lock.
func (s *suite) inspectLocked(t *testing.T) {
	st, in := s.inspector(t)
	held, free := newID(), newID()
	s.save(t, st, held, record("held"))
	s.save(t, st, free, record("free"))
	l := s.lock(t, st, held)

	var got map[string]persist.Info
	wait := s.async(t, "Sessions with a lock held", func() { got = s.list(t, in, "") })
	wait(func() { _ = l.Release() })
	equal(t, got[persist.Key(held)].Locked, true, "Locked of a held session")
	equal(t, got[persist.Key(free)].Locked, false, "Locked of a free session")

	mustNoError(t, l.Release(), "Release")
	got = s.list(t, in, "")
	equal(t, got[persist.Key(held)].Locked, false, "Locked of a released session")
	assertFree(t, st, held)
}

// Sessions stops at fn's first error and returns it.
func (s *suite) inspectStops(t *testing.T) {
	st, in := s.inspector(t)
	for range 3 {
		s.save(t, st, newID(), record("x"))
	}
	stop := errors.New("stop here")
	calls := 0
	err := in.Sessions(context.Background(), "", func(persist.Info) error {
		calls++
		return stop
	})
	errorIs(t, err, stop, "Sessions' error when fn fails")
	equal(t, calls, 1, "calls of fn after it failed once")
}

// Inspect returns the record of a key and its Info; ErrNotFound for a key
// without a record.
func (s *suite) inspect(t *testing.T) {
	st, in := s.inspector(t)
	id := newID()
	want := record("inspected")
	s.save(t, st, id, want)
	got, info, err := in.Inspect(context.Background(), persist.Key(id))
	mustNoError(t, err, "Inspect")
	s.assertRecord(t, want, got)
	equal(t, info.Key, persist.Key(id), "Info.Key")
	expect(t, info.Bytes > 0, "Info.Bytes: got %d, want more than 0", info.Bytes)
	equal(t, info.Locked, false, "Info.Locked of a free session")

	_, _, err = in.Inspect(context.Background(), persist.Key(newID()))
	errorIs(t, err, persist.ErrNotFound, "Inspect of a key never saved")
}

// Inspect of a held session returns at once, with Locked, and the record
// last saved.
func (s *suite) inspectHeld(t *testing.T) {
	st, in := s.inspector(t)
	id := newID()
	want := record("before the lock")
	s.save(t, st, id, want)
	l := s.lock(t, st, id)
	var (
		got  persist.Record
		info persist.Info
		err  error
	)
	wait := s.async(t, "Inspect of a held session", func() {
		got, info, err = in.Inspect(context.Background(), persist.Key(id))
	})
	wait(func() { _ = l.Release() })
	if noError(t, err, "Inspect of a held session") {
		s.assertRecord(t, want, got)
		equal(t, info.Locked, true, "Info.Locked of a held session")
	}
	noError(t, l.Release(), "Release")
}

// LockKey locks the session that Lock locks: each excludes the other, and
// a record saved through one is loaded and deleted through the other.
func (s *suite) lockKey(t *testing.T) {
	st, in := s.inspector(t)
	id := newID()
	key := persist.Key(id)
	want := record("by id")
	s.save(t, st, id, want)

	viaID := s.lock(t, st, id)
	errorIs(t, tryBriefly(byKey(in, key)), context.DeadlineExceeded, "LockKey of a session held by Lock, which must wait until its context ends")
	mustNoError(t, viaID.Release(), "Release")

	viaKey := s.take(t, "LockKey", byKey(in, key))
	assertExcluded(t, st, id)
	got, err := viaKey.Load()
	if noError(t, err, "Load through LockKey") {
		s.assertRecord(t, want, got)
	}
	want = record("by key")
	mustNoError(t, viaKey.Save(want, false), "Save through LockKey")
	mustNoError(t, viaKey.Release(), "Release")
	got, err = s.load(t, st, id)
	if noError(t, err, "Load by id of a record saved by key") {
		s.assertRecord(t, want, got)
	}

	mustNoError(t, s.take(t, "LockKey", byKey(in, key)).Delete(), "Delete through LockKey")
	s.assertNotFound(t, st, id)
	equal(t, len(s.list(t, in, "")), 0, "number of Sessions after Delete through LockKey")
}

// LockKey asks the holder to hand over, as Lock does.
func (s *suite) lockKeyWanted(t *testing.T) {
	if !s.cfg.handsOver {
		t.Skip("the store does not declare HandsOver")
	}
	st, in := s.inspector(t)
	id := newID()
	s.handOver(t, st, id, "LockKey", byKey(in, persist.Key(id)))
}

// A key that is not 64 lowercase hex characters is refused by Inspect and
// LockKey, at once.
func (s *suite) badKey(t *testing.T) {
	_, in := s.inspector(t)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.patience)
	defer cancel()
	for _, key := range []string{"", "../session-x", persist.Key("x")[:63], "A" + persist.Key("x")[1:], persist.Key("x") + "0"} {
		_, _, err := in.Inspect(ctx, key)
		isError(t, err, "Inspect(%q)", key)
		l, err := in.LockKey(ctx, key, nil)
		if !isError(t, err, "LockKey(%q)", key) {
			_ = l.Release()
		}
	}
}

// assertFree checks that id can be locked now.
func assertFree(t *testing.T, st persist.Store, id string) {
	t.Helper()
	noError(t, tryBriefly(byID(st, id)), "Lock of a released session")
}
