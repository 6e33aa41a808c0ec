package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// setOwner sets the owner of session id in a turn of its own.
func setOwner(t testing.TB, e *engine.Engine, id, owner string) {
	t.Helper()
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.SetOwner(owner)
		return nil
	}))
}

// owner returns the owner of session id, read in a turn.
func owner(t testing.TB, e *engine.Engine, id string) string {
	t.Helper()
	var o string
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		o = s.Owner()
		return nil
	}))
	return o
}

// SetOwner is journaled like a value: a failing turn, or a failing nested
// turn, undoes it; the owner is not among the values.
func TestSetOwnerRollback(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	setOwner(t, e, id, "alice")

	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.SetOwner("mallory")
		assert.Equal(t, "mallory", s.Owner(), "inside the turn")
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	assert.Equal(t, "alice", owner(t, e, id), "after a failed turn")

	err = e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
		s.SetOwner("bob")
		err := e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.SetOwner("mallory")
			return errBoom
		})
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, "bob", s.Owner(), "after the failed nested turn")
		assert.Zero(t, s.Len(), "the owner is not a value")
		assert.Empty(t, s.Keys())
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "bob", owner(t, e, id))

	// A turn whose commit fails rolls the owner back too.
	err = e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.SetOwner("carol")
		s.Set("bad", func() {})
		return nil
	})
	require.Error(t, err)
	assert.Equal(t, "bob", owner(t, e, id), "after a failed commit")
}

// The owner is stored in Record.Owner (not in Data), survives passivation
// and a restart, and is written when the turn commits even under
// OnPassivate.
func TestOwnerStored(t *testing.T) {
	for _, d := range []engine.Durability{engine.OnCommit, engine.OnPassivate} {
		t.Run(d.String(), func(t *testing.T) {
			store := newInspectingStore()
			cfg := engine.Config{Durability: d, PassivateAfter: time.Hour}
			e := newEngine(t, store, cfg)
			id := mustCreate(t, e)
			set(t, e, id, "n", 1)
			setOwner(t, e, id, "alice")
			rec, ok := store.record(id)
			require.True(t, ok)
			assert.Equal(t, "alice", rec.Owner, "written at commit, resident")

			set(t, e, id, "n", 2) // a value alone waits for passivation under OnPassivate
			require.NoError(t, e.Close())

			e2 := newEngine(t, store, cfg)
			assert.Equal(t, "alice", owner(t, e2, id), "after a restart")
			assert.Equal(t, 2, get(t, e2, id, "n"))

			setOwner(t, e2, id, "")
			rec, _ = store.record(id)
			assert.Empty(t, rec.Owner, "cleared")
		})
	}
}

// A lazy turn's SetOwner creates the session, as its first Set does.
func TestSetOwnerLazy(t *testing.T) {
	store := newInspectingStore()
	e := newEngine(t, store, engine.Config{})
	turn, err := e.BeginLazy(context.Background())
	require.NoError(t, err)
	require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
		s.SetOwner("alice")
		return nil
	}))
	id := turn.ID()
	require.NotEmpty(t, id)
	require.NoError(t, turn.End())
	assert.Equal(t, "alice", owner(t, e, id))
}

// DestroyOwner destroys the owner's sessions, resident or not, and only
// theirs; a turn queued behind the revocation gets ErrNotFound.
func TestDestroyOwner(t *testing.T) {
	store := newInspectingStore()
	other := newEngine(t, store, engine.Config{})
	e := newEngine(t, store, engine.Config{PassivateAfter: time.Hour})
	var alice []string
	for range 3 {
		id := mustCreate(t, e)
		setOwner(t, e, id, "alice")
		alice = append(alice, id)
	}
	bob := mustCreate(t, e)
	setOwner(t, e, bob, "bob")
	nobody := mustCreate(t, e)
	set(t, e, nobody, "n", 1)
	// One of alice's sessions was last used by another engine on the store,
	// and is not resident in e.
	passive := mustCreate(t, other)
	setOwner(t, other, passive, "alice")
	require.NoError(t, other.Close())
	alice = append(alice, passive)

	// A turn in progress on one session, and one queued behind it.
	release := hold(e, alice[0])
	queued := make(chan error, 1)
	waiting := make(chan struct{})
	go func() {
		close(waiting)
		queued <- increment(context.Background(), e, alice[0])
	}()
	<-waiting
	done := make(chan struct{})
	var n int
	var err error
	go func() {
		defer close(done)
		n, err = e.DestroyOwner(context.Background(), "alice")
	}()
	release()
	within(t, done, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	// The queued turn ran before the revocation or got ErrNotFound; either
	// way the session is gone now.
	if qerr := within(t, queued, 10*time.Second); qerr != nil {
		assert.ErrorIs(t, qerr, engine.ErrNotFound)
	}
	for _, id := range alice {
		assert.ErrorIs(t, increment(context.Background(), e, id), engine.ErrNotFound)
		_, ok := store.record(id)
		assert.False(t, ok, "no record left")
	}
	assert.Equal(t, "bob", owner(t, e, bob))
	assert.Equal(t, 1, get(t, e, nobody, "n"))

	n, err = e.DestroyOwner(context.Background(), "alice")
	assert.NoError(t, err)
	assert.Zero(t, n, "nothing left to destroy")
}

// A resident session is destroyed in a turn of its own: the turn in
// progress finishes (and commits), and every turn queued behind the
// revocation gets ErrNotFound.
func TestDestroyOwnerQueuedTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newInspectingStore()
		e := newEngine(t, store, engine.Config{PassivateAfter: time.Hour})
		id := mustCreate(t, e)
		setOwner(t, e, id, "alice")

		holding, release := make(chan struct{}), make(chan struct{})
		inFlight := make(chan error, 1)
		go func() {
			inFlight <- e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				close(holding)
				<-release
				s.Set("n", 1)
				return nil
			})
		}()
		<-holding
		destroyed := make(chan int, 1)
		go func() {
			n, err := e.DestroyOwner(context.Background(), "alice")
			assert.NoError(t, err)
			destroyed <- n
		}()
		synctest.Wait() // DestroyOwner waits for the session's turn
		queued := make(chan error, 3)
		for range cap(queued) {
			go func() { queued <- increment(context.Background(), e, id) }()
		}
		synctest.Wait()
		close(release)
		assert.NoError(t, <-inFlight, "the turn in progress finished")
		assert.Equal(t, 1, <-destroyed)
		for range cap(queued) {
			assert.ErrorIs(t, <-queued, engine.ErrNotFound)
		}
		_, ok := store.record(id)
		assert.False(t, ok, "nothing written back")
	})
}

// Called with the ctx of a turn on one of the owner's sessions,
// DestroyOwner destroys that session inline.
func TestDestroyOwnerInline(t *testing.T) {
	store := newInspectingStore()
	e := newEngine(t, store, engine.Config{})
	id, other := mustCreate(t, e), mustCreate(t, e)
	setOwner(t, e, id, "alice")
	setOwner(t, e, other, "alice")
	err := e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
		n, err := e.DestroyOwner(ctx, "alice")
		assert.Equal(t, 2, n)
		s.Set("after", true) // dropped: the session is gone
		return err
	})
	require.NoError(t, err)
	for _, x := range []string{id, other} {
		assert.ErrorIs(t, increment(context.Background(), e, x), engine.ErrNotFound)
	}
}

// A session whose owner changed after it was listed is left alone:
// changed by another engine (DestroyOwner checks the record under the
// lock), or by this one, which made it resident meanwhile (DestroyOwner
// notices and goes through its turn).
func TestDestroyOwnerChecksOwner(t *testing.T) {
	for _, where := range []string{"other engine", "this engine"} {
		t.Run(where, func(t *testing.T) {
			store := newInspectingStore()
			e := newEngine(t, store, engine.Config{})
			id := mustCreate(t, e)
			setOwner(t, e, id, "alice")
			require.NoError(t, e.Close()) // not resident: DestroyOwner goes through the store

			e2 := newEngine(t, store, engine.Config{PassivateAfter: time.Hour})
			store.beforeLockKey = func() {
				if where == "this engine" {
					setOwner(t, e2, id, "bob") // and resident in e2 from now on
					return
				}
				e3 := newEngine(t, store, engine.Config{})
				setOwner(t, e3, id, "bob")
				require.NoError(t, e3.Close())
			}
			n, err := e2.DestroyOwner(context.Background(), "alice")
			require.NoError(t, err)
			assert.Zero(t, n)
			assert.Equal(t, "bob", owner(t, e2, id))
		})
	}
}

// DestroyOwner needs a store that is a persist.Inspector, and an owner.
func TestDestroyOwnerErrors(t *testing.T) {
	e := newEngine(t, newRecordingStore(), engine.Config{})
	_, err := e.DestroyOwner(context.Background(), "alice")
	assert.ErrorIs(t, err, engine.ErrNoInspector)
	assert.ErrorIs(t, err, errors.ErrUnsupported)

	e2 := newEngine(t, newInspectingStore(), engine.Config{})
	_, err = e2.DestroyOwner(context.Background(), "")
	assert.Error(t, err)
	require.NoError(t, e2.Close())
	_, err = e2.DestroyOwner(context.Background(), "alice")
	assert.ErrorIs(t, err, engine.ErrClosed)
}

// inspectingStore is a Memory store with a persist.Inspector of its own,
// which tracks the records saved through it.
type inspectingStore struct {
	*persist.Memory
	mu            sync.Mutex
	recs          map[string]idRecord // by key
	beforeLockKey func()              // called once by the next LockKey, if set
}

type idRecord struct {
	id  string
	rec persist.Record
}

func newInspectingStore() *inspectingStore {
	return &inspectingStore{Memory: persist.NewMemory(), recs: map[string]idRecord{}}
}

var _ persist.Inspector = (*inspectingStore)(nil)

func (s *inspectingStore) record(id string) (persist.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[persist.Key(id)]
	return r.rec, ok
}

func (s *inspectingStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	l, err := s.Memory.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	return &inspectingLock{Lock: l, s: s, id: id}, nil
}

func (s *inspectingStore) Sessions(ctx context.Context, owner string, fn func(persist.Info) error) error {
	s.mu.Lock()
	var infos []persist.Info
	for k, r := range s.recs {
		if owner == "" || r.rec.Owner == owner {
			infos = append(infos, persist.Info{Key: k, Owner: r.rec.Owner, Created: r.rec.Created, Expires: r.rec.Expires, Bytes: int64(len(r.rec.Data))})
		}
	}
	s.mu.Unlock()
	for _, info := range infos {
		if err := fn(info); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *inspectingStore) Inspect(_ context.Context, key string) (persist.Record, persist.Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[key]
	if !ok {
		return persist.Record{}, persist.Info{}, persist.ErrNotFound
	}
	return r.rec, persist.Info{Key: key, Owner: r.rec.Owner}, nil
}

func (s *inspectingStore) LockKey(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	s.mu.Lock()
	r, ok := s.recs[key]
	hook := s.beforeLockKey
	s.beforeLockKey = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	id := r.id
	if !ok {
		id = key // no such session: a lock on nothing
	}
	return s.Lock(ctx, id, wanted)
}

type inspectingLock struct {
	persist.Lock
	s  *inspectingStore
	id string
}

func (l *inspectingLock) Save(rec persist.Record, sync bool) error {
	if err := l.Lock.Save(rec, sync); err != nil {
		return err
	}
	l.s.mu.Lock()
	l.s.recs[persist.Key(l.id)] = idRecord{id: l.id, rec: rec}
	l.s.mu.Unlock()
	return nil
}

func (l *inspectingLock) forget() {
	l.s.mu.Lock()
	delete(l.s.recs, persist.Key(l.id))
	l.s.mu.Unlock()
}

func (l *inspectingLock) Delete() error {
	err := l.Lock.Delete()
	if err == nil {
		l.forget()
	}
	return err
}

func (l *inspectingLock) Quarantine(cause error) error {
	err := l.Lock.Quarantine(cause)
	l.forget()
	return err
}
