package cli_test

import (
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

// redisStore returns a Store on a client of its own for addr, closed when
// the test ends.
func redisStore(t *testing.T, addr string) *redisstore.Store {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { client.Close() })
	st, err := redisstore.New(client, redisstore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// The commands over a Redis store that a live engine (its own client and
// Store, as on another host) is using; stats counts the sessions, and
// Redis expired what was due itself.
func TestRedisLiveStore(t *testing.T) {
	srv := testkit.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer client.Close()
	st, err := redisstore.New(client, redisstore.Config{})
	require.NoError(t, err)
	defer st.Close()
	eng, err := engine.New(st, engine.Config{SweepInterval: -1, PassivateAfter: time.Hour})
	require.NoError(t, err)
	defer eng.Close()
	run := func(args ...string) result { return redisRun(t, append([]string{"-redis", srv.Addr}, args...)...) }
	sweep := checkLiveStore(t, liveStore{
		run:    run,
		writer: redisStore(t, srv.Addr),
		eng:    eng,
		both: func(listed map[string]map[string]any) {
			for key, v := range listed {
				assert.Positive(t, v["bytes"], "bytes of %s", key)
			}
			r := run("stats", "-json")
			require.Equal(t, 0, r.code, r.err)
			var stats map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.out), &stats), r.out)
			assert.Equal(t, 3.0, stats["sessions"], r.out)
			assert.Equal(t, 1.0, stats["locked"], r.out)
			assert.Equal(t, 2.0, stats["owners"], r.out)
		},
	})
	assert.Regexp(t, `expired\s+0`, sweep, "Redis expired what was due itself")
}

// The command keeps to its prefix, and says what is wrong with its flags.
func TestRedisPrefixAndUsage(t *testing.T) {
	srv := testkit.StartRedis(t)
	putSession(t, redisStore(t, srv.Addr), testkit.NewID(), "alice", map[string]any{"n": 1})
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
	putSession(t, redisStore(t, srv.Addr), id, "carol", map[string]any{"n": 1})
	c := testkit.StartT(t, "cli", childArgsEnv+"="+strings.Join([]string{"-redis", srv.Addr, "ls"}, "\n"))
	line := c.Line(t)
	assert.Contains(t, line, persist.Key(id))
	assert.Contains(t, line, "carol")
	require.NoError(t, c.Wait())
}
