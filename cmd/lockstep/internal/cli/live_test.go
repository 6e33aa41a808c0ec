package cli_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
)

// putSession stores a session of owner with values through st.
func putSession(t *testing.T, st persist.Store, id, owner string, values map[string]any) {
	t.Helper()
	l, err := st.Lock(t.Context(), id, nil)
	require.NoError(t, err)
	var data bytes.Buffer
	require.NoError(t, gob.NewEncoder(&data).Encode(values))
	now := time.Now()
	require.NoError(t, l.Save(persist.Record{Created: now, Expires: now.Add(time.Hour), Owner: owner, Data: data.Bytes()}, false))
	require.NoError(t, l.Release())
}

// liveStore is what checkLiveStore works on: a store shared between
// processes, as the command line reaches it (run) and as a live engine
// with a Store of its own uses it (eng, on another host as it were).
type liveStore struct {
	run    func(args ...string) result // the command line with the store's flags and args
	writer persist.Store               // a Store of the test's own, for the sessions it puts
	eng    *engine.Engine              // the live engine
	// both, if set, runs while the three sessions exist, one of them
	// resident in eng (its lock held); for checks of a store's own.
	both func(listed map[string]map[string]any)
}

// checkLiveStore checks the commands over a store that a live engine is
// using: ls lists its resident session as locked, rm and revoke get
// sessions handed over and destroy them, and the engine finds them gone.
// It returns the output of sweep, which runs last but one.
func checkLiveStore(t *testing.T, s liveStore) (sweep string) {
	t.Helper()
	alice := []string{testkit.NewID(), testkit.NewID()}
	bob := testkit.NewID()
	for _, id := range alice {
		putSession(t, s.writer, id, "alice", map[string]any{"n": 1})
	}
	putSession(t, s.writer, bob, "bob", map[string]any{"n": 5})
	read := func(id string) (int, error) {
		var n int
		err := s.eng.Do(t.Context(), id, func(_ context.Context, s *engine.Session) error {
			n, _ = engine.Get[int](s, "n")
			return nil
		})
		return n, err
	}
	n, err := read(alice[0]) // resident in the engine, its lease held
	require.NoError(t, err)
	require.Equal(t, 1, n)

	r := s.run("ls", "-json")
	require.Equal(t, 0, r.code, r.err)
	listed := map[string]map[string]any{}
	for _, line := range r.lines() {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v), line)
		listed[v["key"].(string)] = v
	}
	require.Len(t, listed, 3, r.out)
	assert.Equal(t, "bob", listed[persist.Key(bob)]["owner"])
	assert.Equal(t, true, listed[persist.Key(alice[0])]["locked"], "the engine's resident session")
	assert.Equal(t, false, listed[persist.Key(alice[1])]["locked"])
	if s.both != nil {
		s.both(listed)
	}

	r = s.run("ls", "-owner", "alice")
	require.Equal(t, 0, r.code, r.err)
	assert.Len(t, r.lines(), 2, r.out)

	r = s.run("show", persist.Key(bob))
	require.Equal(t, 0, r.code, r.err)
	assert.Contains(t, r.out, "owner     bob")
	assert.Regexp(t, `n\s+int\s+5`, r.out)

	r = s.run("rm", persist.Key(bob))
	require.Equal(t, 0, r.code, r.err)
	r = s.run("show", persist.Key(bob))
	assert.Equal(t, 1, r.code, "show of a removed session: %s", r.out)

	r = s.run("revoke", "-owner", "alice")
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, "destroyed 2\n", r.out)
	for _, id := range append(alice, bob) {
		_, err := read(id)
		assert.ErrorIs(t, err, engine.ErrNotFound, "the engine's Do on a destroyed session")
	}

	r = s.run("sweep")
	require.Equal(t, 0, r.code, r.err)
	sweep = r.out
	r = s.run("ls")
	require.Equal(t, 0, r.code, r.err)
	assert.Empty(t, r.out)
	return sweep
}
