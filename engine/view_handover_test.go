//go:build unix

package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// askedStore wraps a Store: asked is closed once another holder has asked
// for a lock this store's engine holds, and the engine has seen it.
type askedStore struct {
	persist.Store
	once  sync.Once
	asked chan struct{}
}

func (s *askedStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	return s.Store.Lock(ctx, id, func() {
		if wanted != nil {
			wanted()
		}
		s.once.Do(func() { close(s.asked) })
	})
}

// A pending hand-over counts as a waiting Do: once another engine asks
// for the session, new Views queue behind the hand-over, which happens
// as soon as the Views in progress end. (The late View then asks for the
// session like any other holder: it may get the lock before or after the
// other engine's write.)
func TestViewYieldsToHandOver(t *testing.T) {
	dir := t.TempDir()
	open := func(wrap func(persist.Store) persist.Store) *engine.Engine {
		fs, err := filestore.Open(dir, filestore.Config{})
		require.NoError(t, err)
		e, err := engine.New(wrap(fs), engine.Config{LockTimeout: time.Minute, SweepInterval: -1})
		require.NoError(t, err)
		t.Cleanup(func() {
			assert.NoError(t, e.Close())
			assert.NoError(t, fs.Close())
		})
		return e
	}
	held := &askedStore{asked: make(chan struct{})}
	e1 := open(func(s persist.Store) persist.Store { held.Store = s; return held })
	e2 := open(func(s persist.Store) persist.Store { return s })
	id := mustCreate(t, e1)
	set(t, e1, id, "n", 1)
	release := holdView(t, e1, context.Background(), id)

	took := make(chan error, 1)
	go func() { took <- increment(context.Background(), e2, id) }()
	within(t, held.asked, 10*time.Second) // e1 knows e2 waits

	late := make(chan any, 1)
	go func() { late <- view(t, e1, id, "n") }()
	select {
	case v := <-late:
		t.Fatalf("a View overtook the hand-over (saw %v)", v)
	case <-time.After(100 * time.Millisecond): // a View that does not queue answers in microseconds
	}
	release()
	require.NoError(t, within(t, took, 10*time.Second))
	assert.Contains(t, []any{1, 2}, within(t, late, 10*time.Second))
	assert.NotZero(t, e1.Stats().HandOversGiven, "got no hand-over from the engine whose Views held the session")
	assert.Equal(t, 2, view(t, e1, id, "n"))
}
