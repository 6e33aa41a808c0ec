package engine_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
)

// noTimeout is a LockTimeout long enough that only ErrDeadlock can end a
// cycle within a test.
const noTimeout = time.Hour

// cycle runs one goroutine per step: step i holds sessions[i] (a Do),
// waits until every step holds its session, then asks for sessions[i+1]
// (the last one for sessions[0]) with its turn's ctx. It returns the
// inner calls' errors.
func cycle(t *testing.T, e *engine.Engine, ids []string) []error {
	t.Helper()
	n := len(ids)
	holding := make(chan struct{}, n)
	all := make(chan struct{})
	errs := make([]chan error, n)
	for i := range ids {
		errs[i] = make(chan error, 1)
		go func() {
			var inner error
			err := e.Do(context.Background(), ids[i], func(ctx context.Context, _ *engine.Session) error {
				holding <- struct{}{}
				<-all
				inner = e.Do(ctx, ids[(i+1)%n], func(context.Context, *engine.Session) error { return nil })
				return inner
			})
			if inner != nil {
				assert.ErrorIs(t, err, inner)
			}
			errs[i] <- inner
		}()
	}
	for range n {
		<-holding
	}
	close(all)
	out := make([]error, n)
	for i := range errs {
		out[i] = within(t, errs[i], 10*time.Second)
	}
	return out
}

// checkBroken checks that a cycle was broken by ErrDeadlock: at least one
// call got it, the others got their turn.
func checkBroken(t *testing.T, e *engine.Engine, errs []error) {
	t.Helper()
	deadlocks := 0
	for _, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, engine.ErrDeadlock)
			deadlocks++
		}
	}
	require.NotZero(t, deadlocks, "got no ErrDeadlock, want the cycle broken")
	assert.Equal(t, uint64(deadlocks), e.Stats().Deadlocks, "got Stats.Deadlocks, want the calls that failed")
}

// Two sessions nested in opposite order fail at once with ErrDeadlock,
// with the memory store and with the file store.
func TestDeadlockTwoSessions(t *testing.T) {
	stores := map[string]func(t *testing.T) *engine.Engine{
		"memory": func(t *testing.T) *engine.Engine {
			return newEngine(t, nil, engine.Config{LockTimeout: noTimeout})
		},
		"dir": func(t *testing.T) *engine.Engine {
			e, err := engine.Open(t.TempDir(), engine.Config{LockTimeout: noTimeout, SweepInterval: -1})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, e.Close()) })
			return e
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			e := open(t)
			checkBroken(t, e, cycle(t, e, []string{mustCreate(t, e), mustCreate(t, e)}))
		})
	}
}

func TestDeadlockThreeSessions(t *testing.T) {
	e := newEngine(t, nil, engine.Config{LockTimeout: noTimeout})
	checkBroken(t, e, cycle(t, e, []string{mustCreate(t, e), mustCreate(t, e), mustCreate(t, e)}))
}

// The cycle closes through the outer of two nested turns: one goroutine
// holds A, then C inside it, and waits for B; the other holds B and waits
// for A.
func TestDeadlockThroughOuterTurn(t *testing.T) {
	e := newEngine(t, nil, engine.Config{LockTimeout: noTimeout})
	a, b, c := mustCreate(t, e), mustCreate(t, e), mustCreate(t, e)
	holdingB, waitingB := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- e.Do(context.Background(), a, func(ctx context.Context, _ *engine.Session) error {
			return e.Do(ctx, c, func(ctx context.Context, _ *engine.Session) error {
				<-holdingB
				close(waitingB) // just before: the wait itself cannot be seen
				return e.Do(ctx, b, func(context.Context, *engine.Session) error { return nil })
			})
		})
	}()
	second := make(chan error, 1)
	go func() {
		second <- e.Do(context.Background(), b, func(ctx context.Context, _ *engine.Session) error {
			close(holdingB)
			<-waitingB
			return e.Do(ctx, a, func(context.Context, *engine.Session) error { return nil })
		})
	}()
	errs := []error{within(t, first, 10*time.Second), within(t, second, 10*time.Second)}
	checkBroken(t, e, errs)
}

// A chain that is not a cycle waits as before: A's holder waits for B,
// whose holder waits for nothing the engine sees.
func TestDeadlockChainWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{LockTimeout: noTimeout})
		a, b := mustCreate(t, e), mustCreate(t, e)
		releaseB := hold(e, b)
		got := make(chan error, 1)
		go func() {
			got <- e.Do(context.Background(), a, func(ctx context.Context, _ *engine.Session) error {
				return e.Do(ctx, b, func(context.Context, *engine.Session) error { return nil })
			})
		}()
		synctest.Wait()
		require.False(t, done(got), "the chain did not wait")
		// Another goroutine, holding nothing, waits for A: still no cycle.
		other := make(chan error, 1)
		go func() { other <- increment(context.Background(), e, a) }()
		synctest.Wait()
		require.False(t, done(other), "a wait behind the chain did not wait")
		releaseB()
		require.NoError(t, <-got)
		require.NoError(t, <-other)
		assert.Zero(t, e.Stats().Deadlocks)
	})
}

// With Views, the walk follows every holder of a shared turn: of two Views
// of A, the second waits for B, whose holder then asks for A.
func TestDeadlockThroughSharedHolder(t *testing.T) {
	e := newEngine(t, nil, engine.Config{LockTimeout: noTimeout})
	a, b := mustCreate(t, e), mustCreate(t, e)
	releaseView := holdView(t, e, context.Background(), a)
	holdingB, waitingB := make(chan struct{}), make(chan struct{})
	viewer := make(chan error, 1)
	go func() {
		viewer <- e.View(context.Background(), a, func(ctx context.Context, _ *engine.Session) error {
			<-holdingB
			close(waitingB)
			return e.Do(ctx, b, func(context.Context, *engine.Session) error { return nil })
		})
	}()
	holder := make(chan error, 1)
	go func() {
		holder <- e.Do(context.Background(), b, func(ctx context.Context, _ *engine.Session) error {
			close(holdingB)
			<-waitingB
			return e.Do(ctx, a, func(context.Context, *engine.Session) error { return nil })
		})
	}()
	// Whichever wait comes last closes the cycle and fails; the other
	// ends once the first View lets A go.
	var errs []error
	select {
	case err := <-holder:
		errs = append(errs, err)
		releaseView()
		errs = append(errs, within(t, viewer, 10*time.Second))
	case err := <-viewer:
		errs = append(errs, err)
		releaseView()
		errs = append(errs, within(t, holder, 10*time.Second))
	case <-time.After(10 * time.Second):
		t.Fatal("nothing after 10s: the cycle through a shared holder was not seen")
	}
	checkBroken(t, e, errs)
}
