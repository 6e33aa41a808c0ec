package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// gateStore is a Memory whose saves block, once armed, until the gate
// opens.
type gateStore struct {
	*persist.Memory
	armed   atomic.Bool
	saving  chan struct{} // closed when an armed save began
	release chan struct{} // closed to let it finish
}

func (g *gateStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	l, err := g.Memory.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	return gateLock{l, g}, nil
}

type gateLock struct {
	persist.Lock
	g *gateStore
}

func (l gateLock) Save(rec persist.Record, sync bool) error {
	if l.g.armed.CompareAndSwap(true, false) {
		close(l.g.saving)
		<-l.g.release
	}
	return l.Lock.Save(rec, sync)
}

// A guest of a held Turn (a goroutine with the Turn's context) waits while
// the owner commits or ends the turn: neither runs fn, so no call with the
// Turn's context can be nested in them. Once End has begun, the guest no
// longer finds the turn at all: it queues for the next one.
func TestGuestWaitsForOwnerCommit(t *testing.T) {
	for _, op := range []string{"Commit", "End"} {
		t.Run(op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &gateStore{Memory: persist.NewMemory(), saving: make(chan struct{}), release: make(chan struct{})}
				e := newEngine(t, g, engine.Config{})
				id := mustCreate(t, e)
				turn, err := e.Begin(context.Background(), id)
				require.NoError(t, err)
				require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
					s.Set("n", 1)
					return nil
				}))
				g.armed.Store(true)
				owner := make(chan error, 1)
				go func() {
					if op == "Commit" {
						owner <- turn.Commit()
					} else {
						owner <- turn.End()
					}
				}()
				<-g.saving // the owner is in its commit
				var ran atomic.Bool
				guest := make(chan error, 1)
				go func() {
					guest <- e.Do(turn.Context(), id, func(context.Context, *engine.Session) error {
						ran.Store(true)
						return nil
					})
				}()
				synctest.Wait()
				assert.False(t, ran.Load(), "got a guest's fn run during the owner's %s, want it to wait", op)
				close(g.release)
				require.NoError(t, <-owner)
				require.NoError(t, <-guest)
				require.True(t, ran.Load())
				if op == "Commit" {
					require.NoError(t, turn.End())
				}
			})
		})
	}
}

// After End a Turn no longer reads its session, which the next turn owns:
// ID returns "".
func TestTurnIDAfterEnd(t *testing.T) {
	e := newEngine(t, nil, engine.Config{})
	id := mustCreate(t, e)
	turn, err := e.Begin(context.Background(), id)
	require.NoError(t, err)
	require.NoError(t, turn.End())
	moved := make(chan error, 1)
	go func() {
		_, err := e.Regenerate(context.Background(), id) // the next turn changes the ID
		moved <- err
	}()
	assert.Empty(t, turn.ID(), "got an ID after End, want none")
	require.NoError(t, <-moved)
}

// A guest waiting for another guest's fn in a held Turn gets ErrClosed as
// soon as Shutdown begins, as every call waiting for a turn does.
func TestGuestWaitingGetsErrClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{LockTimeout: time.Hour})
		id := mustCreate(t, e)
		turn, err := e.Begin(context.Background(), id)
		require.NoError(t, err)
		inside, leave := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() { // a guest whose fn holds the turn
			first <- e.Do(turn.Context(), id, func(context.Context, *engine.Session) error {
				close(inside)
				<-leave
				return nil
			})
		}()
		<-inside
		second := make(chan error, 1)
		go func() {
			second <- e.Do(turn.Context(), id, func(context.Context, *engine.Session) error { return nil })
		}()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shut := make(chan error, 1)
		go func() { shut <- e.Shutdown(ctx) }()
		synctest.Wait()
		select {
		case err := <-second:
			assert.ErrorIs(t, err, engine.ErrClosed)
		default:
			t.Error("got a guest still waiting after Shutdown began, want ErrClosed at once")
		}
		close(leave)
		require.NoError(t, <-first)
		require.NoError(t, turn.End())
		require.NoError(t, <-shut)
		if t.Failed() {
			<-second
		}
	})
}
