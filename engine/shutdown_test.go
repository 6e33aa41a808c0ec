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
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// Shutdown wakes every in-process waiter with ErrClosed at once, while the
// turn in progress runs on; it returns once that turn has ended and
// committed.
func TestShutdownWakesWaiters(t *testing.T) {
	synctest.Test(t, testShutdownWakesWaiters)
}

func testShutdownWakesWaiters(t *testing.T) {
	store := persist.NewMemory()
	e, err := engine.New(store, engine.Config{})
	require.NoError(t, err)
	id := mustCreate(t, e)

	release, held := holdLate(e, id)

	const waiters = 3
	waiting := make(chan error, waiters)
	var queued sync.WaitGroup
	for range waiters {
		queued.Go(func() { waiting <- increment(context.Background(), e, id) })
	}
	synctest.Wait() // every waiter is queued behind the running turn
	shut := make(chan error, 1)
	go func() { shut <- e.Shutdown(context.Background()) }()
	synctest.Wait()
	for range waiters {
		select {
		case err := <-waiting:
			assert.ErrorIs(t, err, engine.ErrClosed)
		default:
			t.Fatal("a waiter is still waiting after Shutdown began")
		}
	}
	queued.Wait()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a turn was still running", err)
	default:
	}

	release()
	require.NoError(t, within(t, held, 10*time.Second))
	require.NoError(t, within(t, shut, 10*time.Second))
	assert.Equal(t, 0, e.Stats().Active)
	assert.NoError(t, e.Close(), "Close after Shutdown")

	e2 := newEngine(t, store, engine.Config{})
	assert.Equal(t, true, get(t, e2, id, "late"), "the running turn's change was committed")
	assert.Equal(t, nil, get(t, e2, id, "n"), "no waiter ran")
}

// A Shutdown whose ctx ends returns ctx's error but releases everything it
// can; a turn still running finishes, commits and is passivated as it ends,
// with no goroutine left behind (goleak checks in TestMain).
func TestShutdownDeadline(t *testing.T) {
	store := newRecordingStore()
	e, err := engine.New(store, engine.Config{})
	require.NoError(t, err)
	id, idle := mustCreate(t, e), mustCreate(t, e)
	set(t, e, idle, "x", 1) // resident and idle

	release, held := holdLate(e, id)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, e.Shutdown(ctx), context.Canceled)
	assert.ErrorIs(t, increment(context.Background(), e, id), engine.ErrClosed, "a new turn after Shutdown")
	assert.Equal(t, 1, e.Stats().Active, "the idle session was passivated, the busy one not yet")

	release()
	require.NoError(t, within(t, held, 10*time.Second), "the running turn ends normally")
	assert.Equal(t, 0, e.Stats().Active, "its session was passivated as it ended")
	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer lcancel()
	for _, s := range []string{id, idle} {
		l, err := store.Lock(lctx, s, nil)
		require.NoError(t, err, "the lock is free")
		require.NoError(t, l.Release())
	}
	assert.NoError(t, e.Close(), "Close after a Shutdown whose ctx ended")

	e2 := newEngine(t, store, engine.Config{})
	assert.Equal(t, true, get(t, e2, id, "late"))
}

// signalStore tells when a Lock call has begun, before it waits.
type signalStore struct {
	persist.Store
	entered chan string
}

func (s *signalStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	select {
	case s.entered <- id:
	default:
	}
	return s.Store.Lock(ctx, id, wanted)
}

// A Do waiting for a lock that another holder (here another engine on the
// same directory, which keeps the session busy) has, returns ErrClosed
// promptly when its engine closes, and Close does not wait for the holder.
func TestCloseWakesCrossProcessWaiter(t *testing.T) {
	dir := t.TempDir()
	holder, err := engine.Open(dir, engine.Config{SweepInterval: -1})
	require.NoError(t, err)
	defer holder.Close()
	dirB, err := filestore.Open(dir, filestore.Config{})
	require.NoError(t, err)
	defer dirB.Close()
	storeB := &signalStore{Store: dirB, entered: make(chan string, 1)}
	waiter, err := engine.New(storeB, engine.Config{SweepInterval: -1, LockTimeout: time.Minute})
	require.NoError(t, err)

	id := mustCreate(t, holder)
	release := hold(holder, id)
	defer release()

	done := make(chan error, 1)
	go func() { done <- increment(context.Background(), waiter, id) }()
	require.Equal(t, id, within(t, storeB.entered, 10*time.Second))

	closed := make(chan error, 1)
	go func() { closed <- waiter.Close() }()
	assert.ErrorIs(t, within(t, done, 10*time.Second), engine.ErrClosed)
	assert.NoError(t, within(t, closed, 10*time.Second))
}

// Every method refuses work after Shutdown, with ErrClosed.
func TestShutdownRefusesNewWork(t *testing.T) {
	e, err := engine.New(persist.NewMemory(), engine.Config{})
	require.NoError(t, err)
	id := mustCreate(t, e)
	require.NoError(t, e.Shutdown(context.Background()))
	_, err = e.Begin(context.Background(), id)
	assert.ErrorIs(t, err, engine.ErrClosed)
	_, err = e.BeginLazy(context.Background())
	assert.ErrorIs(t, err, engine.ErrClosed)
	_, err = e.Regenerate(context.Background(), id)
	assert.ErrorIs(t, err, engine.ErrClosed)
	assert.ErrorIs(t, e.Destroy(context.Background(), id), engine.ErrClosed)
	assert.True(t, errors.Is(increment(context.Background(), e, id), engine.ErrClosed))
}

// holdLate starts a turn of id that, once released, sets "late" and ends;
// it returns when the turn runs. held gets the turn's error.
func holdLate(e *engine.Engine, id string) (release func(), held <-chan error) {
	holding, done := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			close(holding)
			<-done
			s.Set("late", true)
			return nil
		})
	}()
	<-holding
	return func() { close(done) }, errc
}

// A Shutdown called while the first one still waits for a running turn
// returns when its own ctx ends, not when the first one finishes.
func TestSecondShutdownKeepsItsCtx(t *testing.T) {
	e, err := engine.New(persist.NewMemory(), engine.Config{})
	require.NoError(t, err)
	id := mustCreate(t, e)
	release, held := holdLate(e, id)
	released := false
	defer func() {
		if !released {
			release()
		}
	}()

	queued := make(chan error, 1)
	go func() { queued <- increment(context.Background(), e, id) }()
	first := make(chan error, 1)
	go func() { first <- e.Shutdown(context.Background()) }()
	// The waiter gets ErrClosed once the first Shutdown has begun.
	require.ErrorIs(t, within(t, queued, 10*time.Second), engine.ErrClosed)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	second := make(chan error, 1)
	go func() { second <- e.Shutdown(ctx) }()
	assert.ErrorIs(t, within(t, second, 10*time.Second), context.Canceled)

	released = true
	release()
	require.NoError(t, within(t, held, 10*time.Second))
	require.NoError(t, within(t, first, 10*time.Second))
	assert.NoError(t, e.Close(), "a later call after the first finished")
}
