//go:build unix

package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
)

// Guarantee 25 (docs/architecture.md): a lost lock, noticed on any path,
// drops the session from memory. Each test has two engines on one
// directory, A and B, and removes A's lock file for real: B then locks a new
// lock file at once and is the session's real holder.

// lostLockSetup returns A and B on one directory and a session that A holds
// with k=1 and B then took (k=2) after A's lock file was removed.
func lostLockSetup(t *testing.T, cfgA engine.Config) (a, b *engine.Engine, dir, id string) {
	t.Helper()
	dir = t.TempDir()
	cfgA.SweepInterval = -1
	a = openDir(t, dir, cfgA)
	b = openDir(t, dir, engine.Config{SweepInterval: -1, LockTimeout: 10 * time.Second})
	id = mustCreate(t, a)
	set(t, a, id, "k", 1)
	require.Equal(t, 1, a.Stats().Active)
	require.NoError(t, os.Remove(testkit.LockPath(dir, id)))
	set(t, b, id, "k", 2) // a new lock file, free: B does not wait for A
	return a, b, dir, id
}

// Destroy with a lost lock drops A's copy, locks the session again (B hands
// it over) and deletes it: the ID is dead in both engines. Before, A kept
// the actor resident with a released lock and B went on serving the ID.
func TestLostLockDestroy(t *testing.T) {
	a, b, _, id := lostLockSetup(t, engine.Config{})
	require.NoError(t, a.Destroy(context.Background(), id))
	for name, e := range map[string]*engine.Engine{"A": a, "B": b} {
		err := e.Do(context.Background(), id, func(context.Context, *engine.Session) error { return nil })
		assert.ErrorIs(t, err, engine.ErrNotFound, "engine %s after Destroy", name)
	}
	assert.Equal(t, uint64(1), a.Stats().LocksLost)
	assert.Equal(t, uint64(1), b.Stats().HandOversGiven, "B handed the session over to A's Destroy")
}

// Regenerate with a lost lock fails with persist.ErrLockLost and hands out
// no new ID; the old ID, which B serves, is untouched, and A locks and loads
// it again (B's value, not A's stale copy). Before, Regenerate returned a
// new ID while B still served the old one.
func TestLostLockRegenerate(t *testing.T) {
	a, b, dir, id := lostLockSetup(t, engine.Config{})
	newID, err := a.Regenerate(context.Background(), id)
	require.ErrorIs(t, err, persist.ErrLockLost)
	assert.Empty(t, newID)
	assert.NotContains(t, err.Error(), id, "the error redacts the ID")
	records, _ := filepath.Glob(filepath.Join(dir, "session-*[0-9a-f]"))
	assert.Len(t, records, 1, "the new record is deleted again")
	assert.Equal(t, 0, a.Stats().Active, "A dropped its copy")

	assert.Equal(t, 2, get(t, a, id, "k"), "A locks again and reads B's value")
	assert.Equal(t, 2, get(t, b, id, "k"), "the old ID still lives: nothing was rotated")
}

// Regenerate inline, in a turn that noticed the lost lock when it wrote:
// it fails as well, and the rest of the turn's changes are not committed.
func TestLostLockRegenerateInline(t *testing.T) {
	a, _, _, id := lostLockSetup(t, engine.Config{})
	err := a.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
		newID, err := a.Regenerate(ctx, id)
		assert.ErrorIs(t, err, persist.ErrLockLost)
		assert.Empty(t, newID)
		assert.Equal(t, id, s.ID())
		s.Set("k", 3) // ignored error: the commit must still refuse
		return nil
	})
	require.ErrorIs(t, err, persist.ErrLockLost)
	assert.Equal(t, 2, get(t, a, id, "k"))
}

// A session that expired in A's memory while its lock was lost: A does not
// trust its memory (B used the session since), locks again, finds B's
// record alive and serves it.
func TestLostLockExpiry(t *testing.T) {
	var offset time.Duration // A's clock runs ahead by this much; set before A's Do
	var mu sync.Mutex
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	a, b, _, id := lostLockSetup(t, engine.Config{IdleTimeout: time.Minute, Now: now})
	mu.Lock()
	offset = time.Minute + time.Second // past A's deadline, not past B's record (B's use is later, plus slack)
	mu.Unlock()
	assert.Equal(t, 2, get(t, a, id, "k"), "A locked again and found B's live record")
	assert.Equal(t, uint64(1), a.Stats().LocksLost)
	assert.Equal(t, uint64(0), a.Stats().Expired)
	assert.Equal(t, 2, get(t, b, id, "k"))
}

// The directory removed under a resident session with pending changes
// (OnPassivate): the store asks the holder to let go (wanted), the
// passivation's write finds the directory gone, and the session is dropped.
// Once the directory is back, no turn is served from A's memory. Before,
// the failed passivation kept the session resident, serving k=1.
func TestLostLockDirectoryRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sessions")
	logs := newLogSignal("engine: session dropped: its lock was lost")
	a := openDir(t, dir, engine.Config{Durability: engine.OnPassivate, SweepInterval: -1, Logger: logs.logger()})
	id := mustCreate(t, a)
	set(t, a, id, "k", 1)
	require.NoError(t, os.RemoveAll(dir))
	within(t, logs.ch, 10*time.Second) // the monitor noticed (polls every 50 ms), the janitor passivated
	require.NoError(t, os.Mkdir(dir, 0o700))
	err := a.Do(context.Background(), id, func(context.Context, *engine.Session) error {
		t.Error("a turn was served from memory after the lock was lost")
		return nil
	})
	assert.ErrorIs(t, err, engine.ErrNotFound)
	assert.Equal(t, uint64(1), a.Stats().LocksLost)
}
