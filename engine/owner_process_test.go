//go:build unix

package engine_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
)

// waitForFile waits until a file matching pattern exists: another process
// creates it. It polls the directory, there being nothing to wait on.
func waitForFile(t *testing.T, pattern string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no file %s after 10s", pattern)
		}
		time.Sleep(time.Millisecond)
	}
}

// DestroyOwner in one process destroys the owner's sessions that two other
// processes hold, one of them in the middle of a turn, and its own: the turn
// in flight finishes, and afterwards no process finds any of them, and no
// record comes back, also when the other processes passivate and exit.
// Another owner's session is untouched.
func TestDestroyOwnerAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	pre := openDir(t, dir, engine.Config{})
	var alice []string
	for range 3 {
		id := mustCreate(t, pre)
		setOwner(t, pre, id, "alice")
		alice = append(alice, id)
	}
	bob := mustCreate(t, pre)
	setOwner(t, pre, bob, "bob")
	require.NoError(t, pre.Close())
	e := openDir(t, dir, engine.Config{PassivateAfter: time.Hour})
	require.NoError(t, increment(context.Background(), e, alice[2])) // resident here

	idle, busy := child(t, "owner", dir, ""), child(t, "owner", dir, "")
	require.NoError(t, idle.Send("do "+alice[0]))
	require.Equal(t, "ok 1", idle.Line(t))
	require.NoError(t, idle.Send("do "+bob))
	require.Equal(t, "ok 1", idle.Line(t))
	require.NoError(t, busy.Send("hold "+alice[1]))
	require.Equal(t, "holding", busy.Line(t)) // a request in flight

	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := e.DestroyOwner(context.Background(), "alice")
		done <- result{n, err}
	}()
	// DestroyOwner asks the busy process for the session it is using.
	waitForFile(t, testkit.RecordPath(dir, alice[1])+".want-*")
	require.NoError(t, busy.Send("release"))
	assert.Equal(t, "held ok 1", busy.Line(t), "the request in flight finishes")
	res := within(t, done, 20*time.Second)
	require.NoError(t, res.err)
	assert.Equal(t, 3, res.n)

	for _, c := range []*testkit.Child{idle, busy} {
		for _, id := range alice {
			require.NoError(t, c.Send("do "+id))
			assert.Equal(t, "notfound", c.Line(t))
		}
	}
	for _, id := range alice {
		assert.ErrorIs(t, increment(context.Background(), e, id), engine.ErrNotFound)
	}
	require.NoError(t, idle.Send("do "+bob))
	assert.Equal(t, "ok 2", idle.Line(t), "another owner's session lives on")

	require.NoError(t, idle.Wait())
	require.NoError(t, busy.Wait())
	require.NoError(t, e.Close())
	for _, id := range alice {
		assert.NoFileExists(t, testkit.RecordPath(dir, id), "nothing comes back")
	}
	assert.FileExists(t, testkit.RecordPath(dir, bob))
}
