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

// observation records what an Observer was told.
type observation struct {
	mu          sync.Mutex
	waits       []engine.Wait
	turns       []engine.TurnInfo
	commits     []engine.Commit
	activations []engine.Activation
	passivated  []engine.Passivation
	taken       []time.Duration
	given       int
	timeouts    []time.Duration
	lost        int
	deadlocks   int
	ctxValues   []any // the value of ctxKey in each TurnWaited's ctx
}

type ctxKey struct{}

func (o *observation) observer() *engine.Observer {
	lock := func() func() { o.mu.Lock(); return o.mu.Unlock }
	return &engine.Observer{
		TurnWaited: func(ctx context.Context, w engine.Wait) {
			defer lock()()
			o.waits = append(o.waits, w)
			o.ctxValues = append(o.ctxValues, ctx.Value(ctxKey{}))
		},
		TurnEnded:     func(_ context.Context, t engine.TurnInfo) { defer lock()(); o.turns = append(o.turns, t) },
		Committed:     func(_ context.Context, c engine.Commit) { defer lock()(); o.commits = append(o.commits, c) },
		HandOverTaken: func(_ context.Context, d time.Duration) { defer lock()(); o.taken = append(o.taken, d) },
		HandOverGiven: func() { defer lock()(); o.given++ },
		Activated: func(_ context.Context, a engine.Activation) {
			defer lock()()
			o.activations = append(o.activations, a)
		},
		Passivated:  func(p engine.Passivation) { defer lock()(); o.passivated = append(o.passivated, p) },
		LockTimeout: func(_ context.Context, d time.Duration) { defer lock()(); o.timeouts = append(o.timeouts, d) },
		LockLost:    func() { defer lock()(); o.lost++ },
		Deadlock:    func(context.Context) { defer lock()(); o.deadlocks++ },
	}
}

func reasons(ws []engine.Wait) []engine.WaitReason {
	var rs []engine.WaitReason
	for _, w := range ws {
		rs = append(rs, w.Reason)
	}
	return rs
}

// A turn's wait and why: loading the session, none, queued behind another
// turn; the turn's duration and error; the commit's store and size; the
// ctx is the caller's.
func TestObserverTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var o observation
		e := newEngine(t, nil, engine.Config{SweepInterval: -1, Observer: o.observer()})
		ctx := context.WithValue(context.Background(), ctxKey{}, "request")
		id := mustCreate(t, e)
		require.NoError(t, e.Do(ctx, id, func(_ context.Context, s *engine.Session) error { // loads
			s.Set("k", "value")
			return nil
		}))
		boom := errors.New("boom")
		require.ErrorIs(t, e.Do(ctx, id, func(context.Context, *engine.Session) error { return boom }), boom)

		held, err := e.Begin(ctx, id)
		require.NoError(t, err)
		done := make(chan error)
		go func() { done <- increment(ctx, e, id) }()
		synctest.Wait() // queued
		time.Sleep(time.Millisecond)
		require.NoError(t, held.End())
		require.NoError(t, <-done)

		o.mu.Lock()
		defer o.mu.Unlock()
		assert.Equal(t, []engine.WaitReason{engine.WaitLoad, engine.WaitNone, engine.WaitNone, engine.WaitQueue}, reasons(o.waits))
		assert.Equal(t, time.Millisecond, o.waits[3].Duration, "queued behind the held turn")
		assert.Equal(t, []any{"request", "request", "request", "request"}, o.ctxValues)
		require.Len(t, o.turns, 4)
		assert.NoError(t, o.turns[0].Err)
		assert.ErrorIs(t, o.turns[1].Err, boom)
		assert.Equal(t, time.Millisecond, o.turns[2].Duration, "the held turn")
		require.Len(t, o.commits, 3, "Create, the set, the increment")
		for _, c := range o.commits {
			assert.Equal(t, "memory", c.Store)
			assert.Positive(t, c.Bytes)
			assert.NoError(t, c.Err)
		}
		assert.Equal(t, []engine.Activation{{Loaded: true, Duration: o.activations[0].Duration}}, o.activations)
	})
}

// Activated minus Passivated follows the resident sessions: loads, new
// sessions (lazy creation, Regenerate's new ID), destroyed ones, Close.
func TestObserverResidency(t *testing.T) {
	var o observation
	e, err := engine.New(persist.NewMemory(), engine.Config{SweepInterval: -1, Observer: o.observer()})
	require.NoError(t, err)
	resident := func() int {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.activations) - len(o.passivated)
	}
	ctx := context.Background()
	a := mustCreate(t, e)
	set(t, e, a, "k", 1)
	b := mustCreate(t, e)
	set(t, e, b, "k", 1)
	lazy, err := e.BeginLazy(ctx)
	require.NoError(t, err)
	require.NoError(t, lazy.Do(func(_ context.Context, s *engine.Session) error { s.Set("k", 1); return nil }))
	require.NoError(t, lazy.End())
	_, err = e.Regenerate(ctx, a)
	require.NoError(t, err)
	require.NoError(t, e.Destroy(ctx, b))
	assert.Equal(t, e.Stats().Active, resident(), "got Activated-Passivated, want Stats.Active")
	require.NoError(t, e.Close())
	assert.Equal(t, 0, resident())
}

func TestObserverLockTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var o observation
		e := newEngine(t, nil, engine.Config{SweepInterval: -1, LockTimeout: time.Second, Observer: o.observer()})
		id := mustCreate(t, e)
		held, err := e.Begin(context.Background(), id)
		require.NoError(t, err)
		err = increment(context.Background(), e, id)
		require.ErrorIs(t, err, engine.ErrLockTimeout)
		require.NoError(t, held.End())
		o.mu.Lock()
		defer o.mu.Unlock()
		assert.Equal(t, []time.Duration{time.Second}, o.timeouts)
		last := o.waits[len(o.waits)-1]
		assert.ErrorIs(t, last.Err, engine.ErrLockTimeout)
		assert.Equal(t, time.Second, last.Duration)
	})
}

// Across two engines on one directory: a hand-over taken by one and given
// by the other.
func TestObserverHandOver(t *testing.T) {
	dir := t.TempDir()
	var oa, ob observation
	a := openDir(t, dir, engine.Config{SweepInterval: -1, Observer: oa.observer()})
	b := openDir(t, dir, engine.Config{SweepInterval: -1, Observer: ob.observer()})
	id := mustCreate(t, a)
	set(t, a, id, "k", 1)
	set(t, b, id, "k", 2) // a idle: it hands over
	oa.mu.Lock()
	assert.Equal(t, 1, oa.given)
	assert.Equal(t, []engine.Passivation{{HandOver: true}}, oa.passivated)
	oa.mu.Unlock()
	ob.mu.Lock()
	defer ob.mu.Unlock()
	assert.Len(t, ob.taken, 1)
	assert.Equal(t, engine.WaitHandOver, ob.waits[0].Reason)
	assert.True(t, ob.activations[0].HandOver)
	assert.Equal(t, "filestore", ob.commits[0].Store)
}

func TestStoreName(t *testing.T) {
	assert.Equal(t, "memory", newEngine(t, nil, engine.Config{SweepInterval: -1}).StoreName())
	assert.Equal(t, "filestore", openDir(t, t.TempDir(), engine.Config{SweepInterval: -1}).StoreName())
}

// A wait refused with ErrDeadlock is reported to Deadlock and, as a failed
// wait, to TurnWaited.
func TestObserverDeadlock(t *testing.T) {
	var o observation
	e := newEngine(t, nil, engine.Config{LockTimeout: noTimeout, Observer: o.observer()})
	errs := cycle(t, e, []string{mustCreate(t, e), mustCreate(t, e)})
	checkBroken(t, e, errs)
	o.mu.Lock()
	defer o.mu.Unlock()
	assert.Equal(t, int(e.Stats().Deadlocks), o.deadlocks, "got Deadlock calls, want one per refused wait")
	failed := 0
	for _, w := range o.waits {
		if errors.Is(w.Err, engine.ErrDeadlock) {
			failed++
		}
	}
	assert.Equal(t, o.deadlocks, failed, "got failed waits with ErrDeadlock, want one per Deadlock call")
}

// A View's shared turn is reported as a wait and a turn, marked Shared.
func TestObserverView(t *testing.T) {
	var o observation
	e := newEngine(t, nil, engine.Config{SweepInterval: -1, Observer: o.observer()})
	id := mustCreate(t, e)
	require.NoError(t, e.View(context.Background(), id, func(context.Context, *engine.Session) error { return nil }))
	o.mu.Lock()
	defer o.mu.Unlock()
	require.NotEmpty(t, o.waits)
	require.NotEmpty(t, o.turns)
	assert.True(t, o.waits[len(o.waits)-1].Shared, "got the View's wait not Shared")
	last := o.turns[len(o.turns)-1]
	assert.True(t, last.Shared, "got the View's turn not Shared")
	assert.NoError(t, last.Err)
}
