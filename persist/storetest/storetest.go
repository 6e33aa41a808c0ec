package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// Waits of the suite: brief is how long a Lock that must not succeed is
// given; defaultPatience is how long the suite waits for what must happen,
// unless Patience says otherwise.
const (
	brief           = 50 * time.Millisecond
	defaultPatience = 10 * time.Second
)

// Option changes what Run checks, for a store that declares a property.
type Option func(*config)

type config struct {
	handsOver bool
	noOwner   bool
	patience  time.Duration
}

// HandsOver declares that the store calls the wanted callback of a held
// Lock when another Lock of the same store waits for its session, as
// filestore.Store does (through its directory watcher). Run then checks that
// it does. Without HandsOver, Run checks only that a store works with a
// nil wanted, which is all persist.Memory promises.
func HandsOver() Option { return func(c *config) { c.handsOver = true } }

// WithoutOwner declares that the store does not keep Record.Owner yet; Run
// then compares records without it. A store that keeps the whole contract
// does not need it.
func WithoutOwner() Option { return func(c *config) { c.noOwner = true } }

// Patience sets how long Run waits for what must happen (a hand-over, a
// Lock that must succeed, a Sweep that must not wait) before it fails the
// subtest; the default is 10 s. A store that talks to a slow server may
// need more.
func Patience(d time.Duration) Option { return func(c *config) { c.patience = d } }

// Run checks the persist.Store contract on stores returned by open, which
// must return a new, empty store each time it is called. Each rule is a
// subtest; a store that breaks one fails it. See the package doc for what
// is checked.
func Run(t *testing.T, open func(t *testing.T) persist.Store, opts ...Option) {
	t.Helper()
	s := &suite{open: open, cfg: config{patience: defaultPatience}}
	for _, o := range opts {
		o(&s.cfg)
	}
	checks := []check{
		{"LoadMissing", s.loadMissing},
		{"SaveLoad", s.saveLoad},
		{"DataNotShared", s.dataNotShared},
		{"Exclusion", s.exclusion},
		{"ContextEnds", s.contextEnds},
		{"ConcurrentIncrements", s.concurrentIncrements},
		{"IndependentSessions", s.independentSessions},
		{"Delete", s.delete},
		{"Quarantine", s.quarantine},
		{"Released", s.released},
		{"Destroy", s.destroy},
		{"Regenerate", s.regenerate},
		{"Sweep", s.sweep},
		{"SweepSparesHeldLock", s.sweepSparesHeldLock},
		{"Wanted", s.wanted},
		{"Close", s.close},
	}
	for _, c := range checks {
		t.Run(c.name, c.fn)
	}
	t.Run("Inspector", func(t *testing.T) {
		if st := s.store(t); !isInspector(st) {
			t.Skipf("%T does not implement persist.Inspector", st)
		}
		for _, c := range s.inspectorChecks() {
			t.Run(c.name, c.fn)
		}
	})
}

// check is one rule of the contract, checked in a subtest.
type check struct {
	name string
	fn   func(t *testing.T)
}

type suite struct {
	open func(t *testing.T) persist.Store
	cfg  config
}

// store opens a store that is closed when t ends.
func (s *suite) store(t *testing.T) persist.Store {
	t.Helper()
	st := s.open(t)
	if st == nil {
		t.Fatal("open returned a nil Store")
	}
	t.Cleanup(func() { noError(t, st.Close(), "Close") })
	return st
}

// newID returns a session ID in the engine's form: 32 random bytes,
// base64url without padding.
func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// locker takes a Lock of one session: by its ID (byID) or by its key
// (byKey).
type locker func(ctx context.Context, wanted func()) (persist.Lock, error)

func byID(st persist.Store, id string) locker {
	return func(ctx context.Context, wanted func()) (persist.Lock, error) { return st.Lock(ctx, id, wanted) }
}

func byKey(in persist.Inspector, key string) locker {
	return func(ctx context.Context, wanted func()) (persist.Lock, error) { return in.LockKey(ctx, key, wanted) }
}

// patiently takes a Lock with lock, giving up after the patience.
func (s *suite) patiently(lock locker) (persist.Lock, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.patience)
	defer cancel()
	return lock(ctx, nil)
}

// take takes a Lock with lock (what names the call), failing t if that
// takes longer than the patience.
func (s *suite) take(t *testing.T, what string, lock locker) persist.Lock {
	t.Helper()
	l, err := s.patiently(lock)
	mustNoError(t, err, "%s", what)
	if l == nil {
		t.Fatalf("%s returned a nil Lock and no error", what)
	}
	return l
}

// lock takes the lock of id, failing t if that takes longer than the patience.
func (s *suite) lock(t *testing.T, st persist.Store, id string) persist.Lock {
	t.Helper()
	return s.take(t, "Lock", byID(st, id))
}

// tryBriefly tries lock for a brief moment; it returns the error, releasing
// the Lock if it got one.
func tryBriefly(lock locker) error {
	ctx, cancel := context.WithTimeout(context.Background(), brief)
	defer cancel()
	l, err := lock(ctx, nil)
	if l != nil {
		_ = l.Release()
	}
	return err
}

// assertExcluded checks that id cannot be locked now.
func assertExcluded(t *testing.T, st persist.Store, id string) {
	t.Helper()
	errorIs(t, tryBriefly(byID(st, id)), context.DeadlineExceeded, "a second Lock of a held session, which must wait until its context ends")
}

// record returns a record with every field set, data as its Data.
func record(data string) persist.Record {
	now := time.Now()
	return persist.Record{
		Created: now.Add(-time.Minute),
		Expires: now.Add(time.Hour),
		Owner:   "user-42",
		Data:    []byte(data),
	}
}

// assertRecord checks that got is want as the contract says it round-trips.
func (s *suite) assertRecord(t *testing.T, want, got persist.Record) {
	t.Helper()
	expect(t, want.Created.Equal(got.Created), "Created: got %v, want %v", got.Created, want.Created)
	expect(t, want.Expires.Equal(got.Expires), "Expires: got %v, want %v", got.Expires, want.Expires)
	if !s.cfg.noOwner {
		equal(t, got.Owner, want.Owner, "Owner")
	}
	expect(t, bytes.Equal(want.Data, got.Data), "Data: got %q, want %q", got.Data, want.Data)
}

// load locks id, loads its record and releases it.
func (s *suite) load(t *testing.T, st persist.Store, id string) (persist.Record, error) {
	t.Helper()
	l := s.lock(t, st, id)
	defer func() { noError(t, l.Release(), "Release") }()
	return l.Load()
}

// waitLoad locks id, waiting up to the patience, loads its record and
// releases it; unlike load it reports every error, so a goroutine may call
// it.
func (s *suite) waitLoad(st persist.Store, id string) (persist.Record, error) {
	l, err := s.patiently(byID(st, id))
	if err != nil {
		return persist.Record{}, err
	}
	rec, err := l.Load()
	return rec, errors.Join(err, l.Release())
}

// save locks id, saves rec and releases it.
func (s *suite) save(t *testing.T, st persist.Store, id string, rec persist.Record) {
	t.Helper()
	l := s.lock(t, st, id)
	mustNoError(t, l.Save(rec, false), "Save")
	mustNoError(t, l.Release(), "Release")
}

// lockSaved opens a store, saves a record of data under a new ID, and
// locks that ID again.
func (s *suite) lockSaved(t *testing.T, data string) (persist.Store, string, persist.Lock) {
	t.Helper()
	st := s.store(t)
	id := newID()
	s.save(t, st, id, record(data))
	return st, id, s.lock(t, st, id)
}

// assertNotFound checks that id has no record.
func (s *suite) assertNotFound(t *testing.T, st persist.Store, id string) {
	t.Helper()
	_, err := s.load(t, st, id)
	errorIs(t, err, persist.ErrNotFound, "Load")
}

// async runs fn on a goroutine of its own; the returned function waits for
// it, failing t if it takes longer than the patience. If it does, the wait
// calls unstick (if any; it should make fn return) and waits on: the suite
// never leaves a goroutine behind.
func (s *suite) async(t *testing.T, what string, fn func()) (wait func(unstick ...func())) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	return func(unstick ...func()) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(s.cfg.patience):
			t.Errorf("%s did not return within %v", what, s.cfg.patience)
			for _, f := range unstick {
				f()
			}
			<-done
		}
	}
}

// A session without a record can be locked; Load reports ErrNotFound, and
// not ErrCorrupt.
func (s *suite) loadMissing(t *testing.T) {
	st := s.store(t)
	l := s.lock(t, st, newID())
	_, err := l.Load()
	errorIs(t, err, persist.ErrNotFound, "Load of a session never saved")
	notErrorIs(t, err, persist.ErrCorrupt, "Load of a session never saved")
	noError(t, l.Release(), "Release")
}

// Save replaces the record; it round-trips whole and outlives the Lock.
func (s *suite) saveLoad(t *testing.T) {
	st := s.store(t)
	id := newID()
	l := s.lock(t, st, id)
	first, second := record("first"), record("second")
	second.Owner = ""
	mustNoError(t, l.Save(first, false), "Save")
	got, err := l.Load()
	mustNoError(t, err, "Load after Save")
	s.assertRecord(t, first, got)

	mustNoError(t, l.Save(second, true), "Save with sync")
	got, err = l.Load()
	mustNoError(t, err, "Load after the second Save")
	s.assertRecord(t, second, got)
	mustNoError(t, l.Release(), "Release")

	got, err = s.load(t, st, id)
	mustNoError(t, err, "Load under a new Lock")
	s.assertRecord(t, second, got)

	// The zero record: no times, no owner, no data.
	other := newID()
	s.save(t, st, other, persist.Record{})
	got, err = s.load(t, st, other)
	mustNoError(t, err, "Load of a zero record")
	expect(t, got.Created.IsZero(), "Created: got %v, want the zero time", got.Created)
	expect(t, got.Expires.IsZero(), "Expires: got %v, want the zero time (never)", got.Expires)
	equal(t, got.Owner, "", "Owner")
	expect(t, len(got.Data) == 0, "Data: got %q, want none", got.Data)
}

// Save does not keep the caller's bytes, and Load hands out bytes of the
// caller's own.
func (s *suite) dataNotShared(t *testing.T) {
	st := s.store(t)
	id := newID()
	rec := record("original")
	l := s.lock(t, st, id)
	mustNoError(t, l.Save(rec, false), "Save")
	copy(rec.Data, "XXXXXXXX") // the caller reuses its buffer
	got, err := l.Load()
	mustNoError(t, err, "Load")
	equal(t, string(got.Data), "original", "Data after the caller changed the saved buffer")
	copy(got.Data, "YYYYYYYY")
	got, err = l.Load()
	mustNoError(t, err, "Load")
	equal(t, string(got.Data), "original", "Data after the caller changed a loaded buffer")
	mustNoError(t, l.Release(), "Release")
}

// A held Lock excludes every other Lock of its session until it is
// released; the waiter then sees what the holder saved.
func (s *suite) exclusion(t *testing.T) {
	st := s.store(t)
	id := newID()
	holder := s.lock(t, st, id)
	assertExcluded(t, st, id)

	var (
		got    persist.Record
		gotErr error
	)
	wait := s.async(t, "a Lock waiting for a released session", func() {
		got, gotErr = s.waitLoad(st, id)
	})
	want := record("saved by the holder")
	mustNoError(t, holder.Save(want, false), "Save")
	mustNoError(t, holder.Release(), "Release")
	wait()
	mustNoError(t, gotErr, "the waiter's Lock and Load")
	s.assertRecord(t, want, got)
}

// A Lock that gives up waiting returns an error matching its context's
// error and no Lock, and leaves the session as it was.
func (s *suite) contextEnds(t *testing.T) {
	st := s.store(t)
	id := newID()
	holder := s.lock(t, st, id)

	ctx, cancel := context.WithTimeout(context.Background(), brief)
	l, err := st.Lock(ctx, id, nil)
	cancel()
	expect(t, l == nil, "Lock that timed out: got a Lock, want none")
	errorIs(t, err, context.DeadlineExceeded, "Lock past its deadline")

	ctx, cancel = context.WithCancel(context.Background())
	var cancelled error
	wait := s.async(t, "a cancelled Lock", func() {
		l, err := st.Lock(ctx, id, nil)
		if l != nil {
			_ = l.Release()
			err = errors.New("a Lock of the held session")
		}
		cancelled = err
	})
	cancel()
	wait()
	errorIs(t, cancelled, context.Canceled, "Lock whose context was cancelled")
	errorIs(t, cancelled, ctx.Err(), "Lock whose context was cancelled")

	// The waiters that gave up left nothing behind: the holder still
	// holds, and the session can be locked once it releases.
	mustNoError(t, holder.Save(record("v"), false), "Save by the holder after waiters gave up")
	mustNoError(t, holder.Release(), "Release")
	l = s.lock(t, st, id)
	noError(t, l.Release(), "Release")
}

// Goroutines that increment counters under their Locks lose no update,
// and never find anyone else inside.
func (s *suite) concurrentIncrements(t *testing.T) {
	const workers, each = 8, 40
	st := s.store(t)
	ids := []string{newID(), newID()}
	var inside [2]atomic.Int32
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			errs <- increments(st, ids, &inside, w, each, s.cfg.patience)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		noError(t, err, "a goroutine's increments")
	}
	var total uint64
	for _, id := range ids {
		rec, err := s.load(t, st, id)
		mustNoError(t, err, "Load of a counter")
		mustEqual(t, len(rec.Data), 8, "length of a counter record")
		total += binary.BigEndian.Uint64(rec.Data)
	}
	equal(t, total, uint64(workers*each), "increments counted (lost updates)")
}

func increments(st persist.Store, ids []string, inside *[2]atomic.Int32, w, n int, patience time.Duration) error {
	for i := range n {
		k := (w + i) % len(ids)
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		l, err := st.Lock(ctx, ids[k], nil)
		cancel()
		if err != nil {
			return err
		}
		if others := inside[k].Add(1) - 1; others != 0 {
			_ = l.Release()
			return fmt.Errorf("%d other holders inside a locked session", others)
		}
		var v uint64
		rec, err := l.Load()
		switch {
		case errors.Is(err, persist.ErrNotFound):
		case err != nil:
			return err
		default:
			v = binary.BigEndian.Uint64(rec.Data)
		}
		runtime.Gosched() // invite another goroutine in, should the Lock let it
		rec = record("")
		rec.Data = binary.BigEndian.AppendUint64(nil, v+1)
		err = l.Save(rec, false)
		inside[k].Add(-1)
		if err := errors.Join(err, l.Release()); err != nil {
			return err
		}
	}
	return nil
}

// Locks of different sessions do not exclude each other.
func (s *suite) independentSessions(t *testing.T) {
	st := s.store(t)
	a := s.lock(t, st, newID())
	b := s.lock(t, st, newID()) // fails after the patience if a excluded it
	noError(t, a.Release(), "Release")
	noError(t, b.Release(), "Release")
}

// Delete removes the record and releases the Lock; deleting a session
// without a record is no error.
func (s *suite) delete(t *testing.T) {
	st, id, l := s.lockSaved(t, "doomed")
	mustNoError(t, l.Delete(), "Delete")
	s.assertNotFound(t, st, id) // and Delete released the lock

	l = s.lock(t, st, newID())
	noError(t, l.Delete(), "Delete of a session without a record")
}

// Quarantine moves the record aside, releases the Lock, and reports a
// *CorruptError that matches ErrCorrupt, ErrNotFound and the cause.
func (s *suite) quarantine(t *testing.T) {
	st, id, l := s.lockSaved(t, "does not decode")
	cause := errors.New("storetest: the caller could not decode the data")
	err := l.Quarantine(cause)
	var ce *persist.CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Quarantine: got %v, want a *persist.CorruptError", err)
	}
	errorIs(t, err, persist.ErrCorrupt, "Quarantine")
	errorIs(t, err, persist.ErrNotFound, "Quarantine")
	errorIs(t, err, cause, "Quarantine")
	s.assertNotFound(t, st, id) // and Quarantine released the lock
}

// Every method of a released Lock returns ErrReleased and changes
// nothing, however the Lock was released.
func (s *suite) released(t *testing.T) {
	for _, end := range []struct {
		name    string
		release func(l persist.Lock) error
		remains bool // the record survives the release
	}{
		{"Release", persist.Lock.Release, true},
		{"Delete", persist.Lock.Delete, false},
		{"Quarantine", func(l persist.Lock) error {
			if err := l.Quarantine(errors.New("storetest: quarantined")); !errors.Is(err, persist.ErrCorrupt) {
				return fmt.Errorf("quarantine: got %v, want a *CorruptError", err)
			}
			return nil
		}, false},
	} {
		t.Run(end.name, func(t *testing.T) {
			st := s.store(t)
			id := newID()
			want := record("before the release")
			l := s.lock(t, st, id)
			mustNoError(t, l.Save(want, false), "Save")
			mustNoError(t, end.release(l), "%s", end.name)

			_, err := l.Load()
			errorIs(t, err, persist.ErrReleased, "Load of a released Lock")
			errorIs(t, l.Save(record("after the release"), false), persist.ErrReleased, "Save of a released Lock")
			errorIs(t, l.Release(), persist.ErrReleased, "Release of a released Lock")
			errorIs(t, l.Delete(), persist.ErrReleased, "Delete of a released Lock")
			errorIs(t, l.Quarantine(errors.New("again")), persist.ErrReleased, "Quarantine of a released Lock")

			got, err := s.load(t, st, id)
			if !end.remains {
				errorIs(t, err, persist.ErrNotFound, "Load after %s and calls on the released Lock", end.name)
				return
			}
			mustNoError(t, err, "Load after Release and calls on the released Lock")
			s.assertRecord(t, want, got)
		})
	}
}

// Destroy, as the engine does it: the holder deletes the record. A Lock
// that was waiting meanwhile finds no record: it cannot resurrect the
// session.
func (s *suite) destroy(t *testing.T) {
	st := s.store(t)
	id := newID()
	s.save(t, st, id, record("destroyed while another waits"))
	wanted := make(chan struct{}, 1)
	holder, err := st.Lock(context.Background(), id, func() { notify(wanted) })
	mustNoError(t, err, "Lock")

	var waiterErr error
	wait := s.async(t, "a Lock waiting for a destroyed session", func() {
		_, waiterErr = s.waitLoad(st, id)
	})
	if s.cfg.handsOver { // then the waiter is known to be waiting
		s.awaitWanted(t, wanted, "a Lock")
	}
	mustNoError(t, holder.Delete(), "Delete")
	wait()
	errorIs(t, waiterErr, persist.ErrNotFound, "Load by a Lock that waited while the session was deleted")
}

// Regenerate, as the engine does it: holding the old session, save its
// record under a new ID, then delete the old one. The old ID is dead, the
// new one has the data.
func (s *suite) regenerate(t *testing.T) {
	st := s.store(t)
	oldID, nextID := newID(), newID()
	want := record("moves to the new ID")
	s.save(t, st, oldID, want)

	old := s.lock(t, st, oldID)
	rec, err := old.Load()
	mustNoError(t, err, "Load")
	fresh := s.lock(t, st, nextID) // a second session while holding the first
	mustNoError(t, fresh.Save(rec, false), "Save under the new ID")
	mustNoError(t, old.Delete(), "Delete of the old ID")
	mustNoError(t, fresh.Release(), "Release")

	s.assertNotFound(t, st, oldID)
	got, err := s.load(t, st, nextID)
	mustNoError(t, err, "Load of the new ID")
	s.assertRecord(t, want, got)
}

// Sweep removes records expired at the time it is given, keeps the rest,
// and skips a locked expired record (Busy) without waiting for it.
func (s *suite) sweep(t *testing.T) {
	st := s.store(t)
	base := time.Now()
	at := func(d time.Duration, data string) persist.Record {
		r := record(data)
		r.Created, r.Expires = base, base.Add(d)
		return r
	}
	expired, later, never, locked := newID(), newID(), newID(), newID()
	neverRec := record("never expires")
	neverRec.Expires = time.Time{}
	laterRec := at(3*time.Hour, "expires later")
	expiredRec := at(time.Hour, "expired")
	expiredRec.Owner = "owner of the expired"
	s.save(t, st, expired, expiredRec)
	s.save(t, st, later, laterRec)
	s.save(t, st, never, neverRec)
	lockedRec := at(time.Hour, "expired but locked")
	s.save(t, st, locked, lockedRec)
	held := s.lock(t, st, locked)

	now := base.Add(2 * time.Hour)
	var (
		rep persist.SweepReport
		err error
	)
	wait := s.async(t, "Sweep with an expired session locked", func() {
		rep, err = st.Sweep(context.Background(), now)
	})
	wait(func() { _ = held.Release() }) // Sweep must not wait for it
	mustNoError(t, err, "Sweep")
	equal(t, rep.Expired, 1, "Expired in %+v", rep)
	expect(t, rep.Busy >= 1, "Busy in %+v: got %d, want at least 1", rep, rep.Busy)
	if equal(t, len(rep.Removed), 1, "length of Removed in %+v", rep) {
		got := rep.Removed[0]
		equal(t, got.Key, persist.Key(expired), "Removed[0].Key")
		equal(t, got.Owner, expiredRec.Owner, "Removed[0].Owner")
		expect(t, got.Expires.Equal(expiredRec.Expires), "Removed[0].Expires: got %v, want %v", got.Expires, expiredRec.Expires)
	}

	s.assertNotFound(t, st, expired)
	for _, c := range []struct {
		id  string
		rec persist.Record
	}{{later, laterRec}, {never, neverRec}} {
		got, err := s.load(t, st, c.id)
		if noError(t, err, "Load of an unexpired record after Sweep") {
			s.assertRecord(t, c.rec, got)
		}
	}
	got, err := held.Load()
	mustNoError(t, err, "Load through a Lock held during Sweep")
	s.assertRecord(t, lockedRec, got)
	mustNoError(t, held.Release(), "Release")

	rep, err = st.Sweep(context.Background(), now)
	mustNoError(t, err, "second Sweep")
	equal(t, rep.Expired, 1, "Expired in the second Sweep once the lock was released: %+v", rep)
	if equal(t, len(rep.Removed), 1, "length of Removed in the second Sweep: %+v", rep) {
		equal(t, rep.Removed[0].Key, persist.Key(locked), "Removed[0].Key of the second Sweep")
	}
	s.assertNotFound(t, st, locked)
}

// A Lock held on a session without a record (as the engine holds a
// session it is creating) survives Sweep: it still excludes others, and
// its Save is kept.
func (s *suite) sweepSparesHeldLock(t *testing.T) {
	st := s.store(t)
	id := newID()
	held := s.lock(t, st, id)
	_, err := st.Sweep(context.Background(), time.Now().Add(time.Hour))
	mustNoError(t, err, "Sweep")
	assertExcluded(t, st, id)
	want := record("saved after the Sweep")
	mustNoError(t, held.Save(want, false), "Save through a Lock held during Sweep")
	mustNoError(t, held.Release(), "Release")
	got, err := s.load(t, st, id)
	mustNoError(t, err, "Load")
	s.assertRecord(t, want, got)
}

// A store that hands over calls the holder's wanted when another Lock
// waits; the waiter gets the session once the holder releases.
func (s *suite) wanted(t *testing.T) {
	if !s.cfg.handsOver {
		t.Skip("the store does not declare HandsOver")
	}
	st := s.store(t)
	id := newID()
	s.handOver(t, st, id, "Lock", byID(st, id))
}

// handOver locks id with a wanted callback, lets waiter (what names it)
// wait for the session, and checks that wanted is called and that the
// waiter gets the session once the holder releases.
func (s *suite) handOver(t *testing.T, st persist.Store, id, what string, waiter locker) {
	t.Helper()
	wanted := make(chan struct{}, 1)
	holder, err := st.Lock(context.Background(), id, func() { notify(wanted) })
	mustNoError(t, err, "Lock")

	var waiterErr error
	wait := s.async(t, "a "+what+" whose holder was asked to hand over", func() {
		l, err := s.patiently(waiter)
		if err == nil {
			err = l.Release()
		}
		waiterErr = err
	})
	s.awaitWanted(t, wanted, "a "+what)
	mustNoError(t, holder.Release(), "Release")
	wait()
	noError(t, waiterErr, "the %s after the hand-over", what)
}

// awaitWanted waits for a call of the holder's wanted (which sends on
// wanted) while waiter waits, failing t after the patience.
func (s *suite) awaitWanted(t *testing.T, wanted <-chan struct{}, waiter string) {
	t.Helper()
	select {
	case <-wanted:
	case <-time.After(s.cfg.patience):
		t.Errorf("wanted not called within %v while %s waited", s.cfg.patience, waiter)
	}
}

// notify sends on a channel of capacity 1 without blocking: wanted must
// not block, and may be called more than once.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Close leaves a held Lock valid until it is released.
func (s *suite) close(t *testing.T) {
	st := s.open(t)
	if st == nil {
		t.Fatal("open returned a nil Store")
	}
	l := s.lock(t, st, newID())
	mustNoError(t, st.Close(), "Close")
	want := record("saved after Close")
	noError(t, l.Save(want, false), "Save through a Lock held across Close")
	got, err := l.Load()
	if noError(t, err, "Load through a Lock held across Close") {
		s.assertRecord(t, want, got)
	}
	noError(t, l.Release(), "Release after Close")
}
