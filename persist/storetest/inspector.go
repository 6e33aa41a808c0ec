package storetest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		assert.NotContains(t, got, info.Key, "Sessions passed a key twice")
		got[info.Key] = info
		return nil
	})
	require.NoError(t, err, "Sessions")
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
	require.NoError(t, s.lock(t, st, gone).Delete(), "Delete")
	unsaved := s.lock(t, st, newID())
	defer func() { assert.NoError(t, unsaved.Release(), "Release") }()

	got := s.list(t, in, "")
	assert.ElementsMatch(t, slices.Collect(maps.Keys(recs)), slices.Collect(maps.Keys(got)), "keys listed: got, want")
	for key, rec := range recs {
		info := got[key]
		if !s.cfg.noOwner {
			assert.Equal(t, rec.Owner, info.Owner, "Owner of %s", key)
		}
		assert.True(t, rec.Created.Equal(info.Created), "Created: got %v, want %v", info.Created, rec.Created)
		assert.True(t, rec.Expires.Equal(info.Expires), "Expires: got %v, want %v", info.Expires, rec.Expires)
		assert.Positive(t, info.Bytes, "Bytes of %s", key)
		assert.False(t, info.Locked, "Locked of %s, which nobody holds", key)
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
		assert.ElementsMatch(t, want[owner], slices.Collect(maps.Keys(got)), "Sessions of %q: got, want", owner)
		for key, info := range got {
			assert.Equal(t, owner, info.Owner, "Owner of %s listed for %q", key, owner)
		}
	}
	assert.Len(t, s.list(t, in, ""), 5, "Sessions of every owner")
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
	assert.True(t, got[persist.Key(held)].Locked, "Locked of a held session")
	assert.False(t, got[persist.Key(free)].Locked, "Locked of a free session")

	require.NoError(t, l.Release(), "Release")
	got = s.list(t, in, "")
	assert.False(t, got[persist.Key(held)].Locked, "Locked of a released session")
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
	assert.ErrorIs(t, err, stop, "Sessions' error when fn fails")
	assert.Equal(t, 1, calls, "calls of fn after it failed once")
}

// Inspect returns the record of a key and its Info; ErrNotFound for a key
// without a record.
func (s *suite) inspect(t *testing.T) {
	st, in := s.inspector(t)
	id := newID()
	want := record("inspected")
	s.save(t, st, id, want)
	got, info, err := in.Inspect(context.Background(), persist.Key(id))
	require.NoError(t, err, "Inspect")
	s.assertRecord(t, want, got)
	assert.Equal(t, persist.Key(id), info.Key, "Info.Key")
	assert.Positive(t, info.Bytes, "Info.Bytes")
	assert.False(t, info.Locked, "Info.Locked of a free session")

	_, _, err = in.Inspect(context.Background(), persist.Key(newID()))
	assert.ErrorIs(t, err, persist.ErrNotFound, "Inspect of a key never saved")
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
	if assert.NoError(t, err, "Inspect of a held session") {
		s.assertRecord(t, want, got)
		assert.True(t, info.Locked, "Info.Locked of a held session")
	}
	assert.NoError(t, l.Release(), "Release")
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
	assert.ErrorIs(t, tryBriefly(byKey(in, key)), context.DeadlineExceeded, "LockKey of a session held by Lock: got %v, want it to wait until its context ends")
	require.NoError(t, viaID.Release(), "Release")

	viaKey := s.take(t, "LockKey", byKey(in, key))
	assertExcluded(t, st, id)
	got, err := viaKey.Load()
	if assert.NoError(t, err, "Load through LockKey") {
		s.assertRecord(t, want, got)
	}
	want = record("by key")
	require.NoError(t, viaKey.Save(want, false), "Save through LockKey")
	require.NoError(t, viaKey.Release(), "Release")
	got, err = s.load(t, st, id)
	if assert.NoError(t, err, "Load by id of a record saved by key") {
		s.assertRecord(t, want, got)
	}

	require.NoError(t, s.take(t, "LockKey", byKey(in, key)).Delete(), "Delete through LockKey")
	s.assertNotFound(t, st, id)
	assert.Empty(t, s.list(t, in, ""), "Sessions after Delete through LockKey")
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
		assert.Error(t, err, "Inspect(%q)", key)
		l, err := in.LockKey(ctx, key, nil)
		if !assert.Error(t, err, "LockKey(%q)", key) {
			_ = l.Release()
		}
	}
}

// assertFree checks that id can be locked now.
func assertFree(t *testing.T, st persist.Store, id string) {
	t.Helper()
	assert.NoError(t, tryBriefly(byID(st, id)), "Lock of a released session")
}
