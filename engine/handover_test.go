//go:build unix

package engine_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// slowStore wraps a Store: while slow is set, every Release of a lock takes
// delay more (a disk on which each passivation's fsync is slow), and the
// first such release closes started.
type slowStore struct {
	persist.Store
	delay   time.Duration
	slow    atomic.Bool
	once    sync.Once
	started chan struct{}
}

func (s *slowStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	l, err := s.Store.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	return &slowLock{Lock: l, s: s}, nil
}

type slowLock struct {
	persist.Lock
	s *slowStore
}

func (l *slowLock) Release() error {
	if l.s.slow.Load() {
		l.s.once.Do(func() { close(l.s.started) })
		time.Sleep(l.s.delay) // the slow disk, not a wait for a goroutine
	}
	return l.Lock.Release()
}

func (l *slowLock) Waited() bool {
	w, ok := l.Lock.(interface{ Waited() bool })
	return ok && w.Waited()
}

// Guarantee 31 (docs/architecture.md): a hand-over request is served while
// thousands of idle sessions are being passivated, not after them. Engine A
// (OnCommitSync) holds n sessions that all go idle at once; each
// passivation writes and fsyncs the exact expiry and, through slowStore,
// takes 3 ms more, so the burst lasts n x 3 ms at least. Meanwhile engine B
// asks A for the sessions A used last (the end of the burst), one after the
// other. Before, one janitor passivated the whole burst first: B's Do timed
// out. LOCKSTEP_BURST sets n (default 1000).
func TestHandOverDuringPassivationBurst(t *testing.T) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("LOCKSTEP_BURST")); err == nil {
		n = v
	}
	const targets = 10
	dir := t.TempDir()
	ids := make([]string, n)
	{
		c := openDir(t, dir, engine.Config{SweepInterval: -1})
		for i := range ids {
			ids[i] = mustCreate(t, c)
		}
		require.NoError(t, c.Close())
	}
	d, err := filestore.Open(dir, filestore.Config{SyncDeletes: true})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	store := &slowStore{Store: d, delay: 3 * time.Millisecond, started: make(chan struct{})}
	a := newEngine(t, store, engine.Config{Durability: engine.OnCommitSync, PassivateAfter: 300 * time.Millisecond,
		IdleTimeout: 10 * time.Minute, SweepInterval: -1})
	for _, id := range ids {
		get(t, a, id, "k") // resident in A, least recently used first
	}
	store.slow.Store(true)
	within(t, store.started, 30*time.Second) // the burst began

	lockTimeout := 2 * time.Second // the burst takes n x 3 ms or more
	b := openDir(t, dir, engine.Config{LockTimeout: lockTimeout, SweepInterval: -1})
	var lat []time.Duration
	for _, id := range ids[n-targets:] {
		start := time.Now()
		err := b.Do(context.Background(), id, func(context.Context, *engine.Session) error { return nil })
		lat = append(lat, time.Since(start))
		require.NoError(t, err, "B's Do during A's burst of %d passivations", n)
	}
	active := a.Stats().Active
	store.slow.Store(false)
	slices.Sort(lat)
	t.Logf("hand-over during a burst of %d passivations (%d still resident in A after): median %v, max %v",
		n, active, lat[len(lat)/2], lat[len(lat)-1])
	assert.Greater(t, active, targets, "the burst was still running")
	assert.Equal(t, uint64(targets), b.Stats().HandOversTaken)
	assert.GreaterOrEqual(t, a.Stats().HandOversGiven, uint64(targets))
}
