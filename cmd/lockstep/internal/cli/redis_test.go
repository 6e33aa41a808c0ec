package cli_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/cmd/lockstep/internal/cli"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
)

// redisRun runs the command line args in this process, with every backend.
func redisRun(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := cli.Main(t.Context(), "lockstep", args, &out, &errb, cli.Backends()...)
	return result{out.String(), errb.String(), code}
}

// putRedis stores a session of owner with values through a Store of its own.
func putRedis(t *testing.T, addr, id, owner string, values map[string]any) {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	st, err := redisstore.New(client, redisstore.Config{})
	require.NoError(t, err)
	defer st.Close()
	l, err := st.Lock(t.Context(), id, nil)
	require.NoError(t, err)
	var data bytes.Buffer
	require.NoError(t, gob.NewEncoder(&data).Encode(values))
	now := time.Now()
	require.NoError(t, l.Save(persist.Record{Created: now, Expires: now.Add(time.Hour), Owner: owner, Data: data.Bytes()}, false))
	require.NoError(t, l.Release())
}

// The commands over a Redis store that a live engine (its own client and
// Store, as on another host) is using: ls lists its resident session as
// locked, rm and revoke get sessions handed over and destroy them, and
// the engine finds them gone.
func TestRedisLiveStore(t *testing.T) {
	srv := testkit.StartRedis(t)
	alice := []string{testkit.NewID(), testkit.NewID()}
	bob := testkit.NewID()
	for _, id := range alice {
		putRedis(t, srv.Addr, id, "alice", map[string]any{"n": 1})
	}
	putRedis(t, srv.Addr, bob, "bob", map[string]any{"n": 5})

	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer client.Close()
	st, err := redisstore.New(client, redisstore.Config{})
	require.NoError(t, err)
	defer st.Close()
	eng, err := engine.New(st, engine.Config{SweepInterval: -1, PassivateAfter: time.Hour})
	require.NoError(t, err)
	defer eng.Close()
	read := func(id string) (int, error) {
		var n int
		err := eng.Do(t.Context(), id, func(_ context.Context, s *engine.Session) error {
			n, _ = engine.Get[int](s, "n")
			return nil
		})
		return n, err
	}
	n, err := read(alice[0]) // resident in the engine, its lease held
	require.NoError(t, err)
	require.Equal(t, 1, n)

	r := redisRun(t, "-redis", srv.Addr, "ls", "-json")
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
	assert.Positive(t, listed[persist.Key(bob)]["bytes"])

	r = redisRun(t, "-redis", srv.Addr, "ls", "-owner", "alice")
	require.Equal(t, 0, r.code, r.err)
	assert.Len(t, r.lines(), 2, r.out)

	r = redisRun(t, "-redis", srv.Addr, "show", persist.Key(bob))
	require.Equal(t, 0, r.code, r.err)
	assert.Contains(t, r.out, "owner     bob")
	assert.Regexp(t, `n\s+int\s+5`, r.out)

	r = redisRun(t, "-redis", srv.Addr, "stats", "-json")
	require.Equal(t, 0, r.code, r.err)
	var stats map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.out), &stats), r.out)
	assert.Equal(t, 3.0, stats["sessions"], r.out)
	assert.Equal(t, 1.0, stats["locked"], r.out)
	assert.Equal(t, 2.0, stats["owners"], r.out)

	r = redisRun(t, "-redis", srv.Addr, "rm", persist.Key(bob))
	require.Equal(t, 0, r.code, r.err)
	r = redisRun(t, "-redis", srv.Addr, "show", persist.Key(bob))
	assert.Equal(t, 1, r.code, "show of a removed session: %s", r.out)

	r = redisRun(t, "-redis", srv.Addr, "revoke", "-owner", "alice")
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, "destroyed 2\n", r.out)
	for _, id := range append(alice, bob) {
		_, err := read(id)
		assert.ErrorIs(t, err, engine.ErrNotFound, "the engine's Do on a destroyed session")
	}

	r = redisRun(t, "-redis", srv.Addr, "sweep")
	require.Equal(t, 0, r.code, r.err)
	assert.Regexp(t, `expired\s+0`, r.out, "Redis expired what was due itself")
	r = redisRun(t, "-redis", srv.Addr, "ls")
	require.Equal(t, 0, r.code, r.err)
	assert.Empty(t, r.out)
}

// The command keeps to its prefix, and says what is wrong with its flags.
func TestRedisPrefixAndUsage(t *testing.T) {
	srv := testkit.StartRedis(t)
	putRedis(t, srv.Addr, testkit.NewID(), "alice", map[string]any{"n": 1})
	r := redisRun(t, "-redis", srv.Addr, "-prefix", "other:", "ls")
	require.Equal(t, 0, r.code, r.err)
	assert.Empty(t, r.out, "sessions under another prefix")

	for name, c := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"bad prefix":    {[]string{"-redis", srv.Addr, "-prefix", "a{b}", "ls"}, 2, "brace"},
		"bad URL":       {[]string{"-redis", "redis://:x@[", "ls"}, 2, "-redis"},
		"nobody there":  {[]string{"-redis", "127.0.0.1:1", "ls"}, 1, "127.0.0.1:1"},
		"no command":    {[]string{"-redis", srv.Addr}, 2, "no command"},
		"malformed key": {[]string{"-redis", srv.Addr, "show", "x"}, 2, "x"},
	} {
		t.Run(name, func(t *testing.T) {
			r := redisRun(t, c.args...)
			assert.Equal(t, c.code, r.code, "exit status; stderr %s", r.err)
			assert.Contains(t, r.err, c.msg)
			assert.Equal(t, 1, strings.Count(r.err, "\n"), "a one-line message: %q", r.err)
		})
	}
}

// The command as operators run it: a process of its own.
func TestRedisProcess(t *testing.T) {
	srv := testkit.StartRedis(t)
	id := testkit.NewID()
	putRedis(t, srv.Addr, id, "carol", map[string]any{"n": 1})
	c := testkit.StartT(t, "cli", childArgsEnv+"="+strings.Join([]string{"-redis", srv.Addr, "ls"}, "\n"))
	line := c.Line(t)
	assert.Contains(t, line, persist.Key(id))
	assert.Contains(t, line, "carol")
	require.NoError(t, c.Wait())
}
