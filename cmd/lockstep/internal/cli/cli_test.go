package cli_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"flag"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/cmd/lockstep/internal/cli"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// result is what one run of the command line did.
type result struct {
	out, err string
	code     int
}

// lines returns the lines of out, sorted.
func (r result) lines() []string {
	ls := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if r.out == "" {
		ls = nil
	}
	slices.Sort(ls)
	return ls
}

// fixture is a store with sessions in it, reachable by the command line.
type fixture struct {
	name  string
	store cli.Store
	args  []string // the backend's flags
	back  cli.Backend
}

// run runs the command line over f's store.
func (f *fixture) run(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(t.Context(), "lockstep", append(slices.Clone(f.args), args...), &out, &errb, f.back)
	return result{out.String(), errb.String(), code}
}

// memBackend runs the commands on m, chosen with -memory NAME (Close of a
// Memory does nothing, so every run sees the same sessions).
func memBackend(m *persist.Memory) cli.Backend {
	return cli.Backend{
		Name:  "memory",
		Arg:   "NAME",
		Usage: "a Memory store of the test",
		Flags: func(*flag.FlagSet) cli.Opener {
			return func(context.Context, string, *slog.Logger) (cli.Store, error) { return m, nil }
		},
	}
}

// fixtures returns a Memory and a Dir fixture, empty.
func fixtures(t *testing.T) []*fixture {
	m := persist.NewMemory()
	dir := t.TempDir()
	d, err := filestore.Open(dir, filestore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	return []*fixture{
		{name: "memory", store: m, args: []string{"-memory", "m"}, back: memBackend(m)},
		{name: "dir", store: d, args: []string{"-dir", dir}, back: cli.Dir()},
	}
}

// encode encodes values as the engine stores them.
func encode(t *testing.T, values map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(values))
	return buf.Bytes()
}

// put stores a session with id, owner, times and values; it returns its key.
func put(t *testing.T, st persist.Store, id, owner string, created, expires time.Time, data []byte) string {
	t.Helper()
	l, err := st.Lock(t.Context(), id, nil)
	require.NoError(t, err)
	require.NoError(t, l.Save(persist.Record{Created: created, Expires: expires, Owner: owner, Data: data}, false))
	require.NoError(t, l.Release())
	return persist.Key(id)
}

var (
	created = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	expires = time.Date(2200, 6, 1, 11, 0, 0, 0, time.UTC) // record files keep unix nanoseconds: before 2262
	expired = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
)

// populated stores alice's two sessions, bob's one, one without owner
// (never expires) and one expired, and returns their keys.
func populated(t *testing.T, f *fixture) (alice1, alice2, bob, nobody, old string) {
	t.Helper()
	vals := encode(t, map[string]any{"n": 3, "name": "bob the \"builder\"", "cart": []string{"apple", "pear"}})
	alice1 = put(t, f.store, testkit.NewID(), "alice", created, expires, vals)
	alice2 = put(t, f.store, testkit.NewID(), "alice", created, expires, encode(t, map[string]any{}))
	bob = put(t, f.store, testkit.NewID(), "bob", created, expires, vals)
	nobody = put(t, f.store, testkit.NewID(), "", created, time.Time{}, vals)
	old = put(t, f.store, testkit.NewID(), "carol", created, expired, vals)
	return
}

// byKey returns the lines of r that start with one of keys... keyed.
func byKey(lines []string) map[string]string {
	m := make(map[string]string)
	for _, l := range lines {
		k, rest, _ := strings.Cut(l, "  ")
		m[k] = rest
	}
	return m
}

func TestLs(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			a1, a2, bob, nobody, old := populated(t, f)
			r := f.run(t, "ls")
			require.Equal(t, 0, r.code, "exit status; stderr %s", r.err)
			assert.Empty(t, r.err)
			got := byKey(r.lines())
			require.Len(t, got, 5, "lines:\n%s", r.out)
			assert.Regexp(t, `^alice  2025-06-01T10:00:00Z  2200-06-01T11:00:00Z  [0-9]+  unlocked$`, got[a1])
			assert.Contains(t, got[a2], "alice  ")
			assert.Regexp(t, `^bob  `, got[bob])
			assert.Regexp(t, `^-  2025-06-01T10:00:00Z  never  [0-9]+  unlocked$`, got[nobody])
			assert.Regexp(t, `^carol  2025-06-01T10:00:00Z  2001-01-01T00:00:00Z  `, got[old])

			r = f.run(t, "ls", "-owner", "alice")
			require.Equal(t, 0, r.code, r.err)
			assert.ElementsMatch(t, []string{a1, a2}, slices.Collect(maps.Keys(byKey(r.lines()))))

			r = f.run(t, "ls", "-owner=nobody-at-all")
			assert.Equal(t, result{"", "lockstep: no sessions of owner nobody-at-all in " + strings.Join(f.args, " ") + "\n", 0}, r)

			// A held session's stored expiry is the latest it expires.
			hold(t, f, a1)
			assert.Regexp(t, `^alice  2025-06-01T10:00:00Z  <=2200-06-01T11:00:00Z  [0-9]+  locked$`, byKey(f.run(t, "ls").lines())[a1])
		})
	}
}

func TestLsJSON(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			a1, _, _, nobody, _ := populated(t, f)
			hold(t, f, a1)

			r := f.run(t, "ls", "-json")
			require.Equal(t, 0, r.code, r.err)
			got := map[string]map[string]any{}
			for _, line := range r.lines() {
				var obj map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &obj), "line %q", line)
				assert.ElementsMatch(t, []string{"key", "owner", "created", "expires", "expires_exact", "bytes", "locked"}, slices.Collect(maps.Keys(obj)), "fields of %s", line)
				got[obj["key"].(string)] = obj
			}
			require.Len(t, got, 5)
			assert.Equal(t, "alice", got[a1]["owner"])
			assert.Equal(t, "2025-06-01T10:00:00Z", got[a1]["created"])
			assert.Equal(t, "2200-06-01T11:00:00Z", got[a1]["expires"])
			assert.Equal(t, true, got[a1]["locked"], "locked of a held session")
			assert.Equal(t, false, got[a1]["expires_exact"], "expires_exact of a held session")
			assert.Equal(t, true, got[nobody]["expires_exact"], "expires_exact of a session that never expires")
			assert.Positive(t, got[a1]["bytes"])
			assert.Equal(t, "", got[nobody]["owner"])
			assert.Nil(t, got[nobody]["expires"], "expires of a session that never expires")
			assert.Equal(t, false, got[nobody]["locked"])
		})
	}
}

func TestShow(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			a1, _, _, nobody, _ := populated(t, f)
			r := f.run(t, "show", a1)
			require.Equal(t, 0, r.code, r.err)
			for _, want := range []string{
				"key       " + a1 + "\n",
				"owner     alice\n",
				"created   2025-06-01T10:00:00Z\n",
				"expires   2200-06-01T11:00:00Z (expires in ",
				"locked    no\n",
				"values    3\n",
				`  cart  []string  []string{"apple", "pear"}` + "\n",
				"  n     int       3\n",
				`  name  string    "bob the \"builder\""` + "\n",
			} {
				assert.Contains(t, r.out, want)
			}
			r = f.run(t, "show", nobody)
			require.Equal(t, 0, r.code, r.err)
			assert.Contains(t, r.out, "owner     none\n")
			assert.Contains(t, r.out, "expires   never\n")

			missing := persist.Key(testkit.NewID())
			r = f.run(t, "show", missing)
			assert.Equal(t, 1, r.code)
			assert.Equal(t, "lockstep: show "+missing+": persist: session not found\n", r.err)
			assert.Empty(t, r.out)
		})
	}
}

func TestShowJSON(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			a1, _, _, nobody, _ := populated(t, f)
			r := f.run(t, "show", "-json", a1)
			require.Equal(t, 0, r.code, r.err)
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.out), &got), r.out)
			assert.Equal(t, 1, strings.Count(r.out, "\n"), "one line: %s", r.out)
			assert.Equal(t, a1, got["key"])
			assert.Equal(t, []any{}, got["quarantined"])
			rec, ok := got["record"].(map[string]any)
			require.True(t, ok, "record: %s", r.out)
			assert.Equal(t, "alice", rec["owner"])
			assert.Equal(t, "2025-06-01T10:00:00Z", rec["created"])
			assert.Equal(t, "2200-06-01T11:00:00Z", rec["expires"])
			assert.Equal(t, true, rec["expires_exact"])
			assert.Equal(t, false, rec["locked"])
			assert.Positive(t, rec["bytes"])
			assert.Equal(t, []any{
				map[string]any{"name": "cart", "type": "[]string", "value": `[]string{"apple", "pear"}`},
				map[string]any{"name": "n", "type": "int", "value": "3"},
				map[string]any{"name": "name", "type": "string", "value": `"bob the \"builder\""`},
			}, rec["values"])

			r = f.run(t, "show", "-json", nobody)
			require.Equal(t, 0, r.code, r.err)
			assert.Contains(t, r.out, `"owner":"","created":"2025-06-01T10:00:00Z","expires":null,"expires_exact":true,`)

			// A held session: its stored expiry is the latest it expires.
			hold(t, f, a1)
			r = f.run(t, "show", "-json", a1)
			require.Equal(t, 0, r.code, r.err)
			assert.Contains(t, r.out, `"expires":"2200-06-01T11:00:00Z","expires_exact":false,`)
			assert.Contains(t, r.out, `"locked":true,`)
			r = f.run(t, "show", a1)
			require.Equal(t, 0, r.code, r.err)
			assert.Contains(t, r.out, "expires   2200-06-01T11:00:00Z at the latest (expires in ")
			assert.Contains(t, r.out, "locked    yes\n")

			missing := persist.Key(testkit.NewID())
			r = f.run(t, "show", "-json", missing)
			assert.Equal(t, result{"", "lockstep: show " + missing + ": persist: session not found\n", 1}, r)
		})
	}
}

// show prints what it can of a record whose values do not decode.
func TestShowUndecodableValues(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			key := put(t, f.store, testkit.NewID(), "dave", created, expires, []byte("not gob"))
			r := f.run(t, "show", key)
			require.Equal(t, 0, r.code, r.err)
			assert.Contains(t, r.out, "owner     dave\n")
			assert.Regexp(t, `values    do not decode \(7 bytes\): decode session values: .+\n`, r.out)
		})
	}
}

func TestRm(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			a1, a2, bob, _, _ := populated(t, f)
			r := f.run(t, "rm", a1, a2)
			require.Equal(t, 0, r.code, r.err)
			assert.Equal(t, "removed "+a1+"\nremoved "+a2+"\n", r.out)
			_, _, err := f.store.Inspect(t.Context(), a1)
			assert.ErrorIs(t, err, persist.ErrNotFound)

			// One missing key fails the command, the others are removed.
			r = f.run(t, "rm", a1, bob)
			assert.Equal(t, 1, r.code)
			assert.Equal(t, "removed "+bob+"\n", r.out)
			assert.Equal(t, "lockstep: rm "+a1+": persist: session not found\n", r.err)
			assert.Len(t, f.run(t, "ls").lines(), 2)
		})
	}
}

// rm waits for a held session no longer than -timeout, and fails.
func TestRmHeld(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			a1, _, _, _, _ := populated(t, f)
			l, err := f.store.LockKey(t.Context(), a1, nil)
			require.NoError(t, err)
			r := f.run(t, "-timeout", "50ms", "rm", a1)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.err, "session "+a1+" is held and was not handed over within -timeout 50ms")
			assert.Contains(t, r.err, "context deadline exceeded")
			assert.Equal(t, 1, strings.Count(r.err, "\n"), "one line: %q", r.err)
			rec, err := l.Load()
			assert.NoError(t, err, "the holder's Load after rm gave up")
			assert.Equal(t, "alice", rec.Owner)
			require.NoError(t, l.Release())
		})
	}
}

func TestRevoke(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			_, _, bob, nobody, old := populated(t, f)
			r := f.run(t, "revoke", "-owner", "alice")
			require.Equal(t, 0, r.code, r.err)
			assert.Equal(t, "destroyed 2\n", r.out)
			assert.ElementsMatch(t, []string{bob, nobody, old}, slices.Collect(maps.Keys(byKey(f.run(t, "ls").lines()))))
			assert.Equal(t, result{"destroyed 0\n", "", 0}, f.run(t, "revoke", "-owner", "alice"))
		})
	}
}

func TestSweep(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			_, _, _, _, old := populated(t, f)
			r := f.run(t, "sweep")
			require.Equal(t, 0, r.code, r.err)
			assert.Equal(t, "expired       1\nbusy          0\n", r.out)
			_, _, err := f.store.Inspect(t.Context(), old)
			assert.ErrorIs(t, err, persist.ErrNotFound)
			assert.Equal(t, result{`{"expired":0,"busy":0}` + "\n", "", 0}, f.run(t, "sweep", "-json"))
		})
	}
}

func TestStats(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			a1, _, _, _, _ := populated(t, f)
			hold(t, f, a1)
			r := f.run(t, "stats")
			require.Equal(t, 0, r.code, r.err)
			for _, want := range []string{
				"sessions      5\n", "expired       1\n", "locked        1\n",
				"owners        3\n", "unowned       1\n", "top-owners    alice=2 bob=1 carol=1\n",
			} {
				assert.Contains(t, r.out, want)
			}
			r = f.run(t, "stats", "-json")
			require.Equal(t, 0, r.code, r.err)
			var s map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.out), &s))
			assert.Equal(t, 5.0, s["sessions"])
			assert.Equal(t, 1.0, s["locked"])
			assert.Positive(t, s["bytes"])
			if f.name == "dir" {
				assert.Contains(t, r.out, `"quarantined":0`)
				assert.Contains(t, r.out, `"files":{"orphan_locks":0,"temp_files":0,"want_files":0,"other_files":0}`)
			} else {
				assert.NotContains(t, r.out, "quarantined", "a Memory keeps no quarantined records")
			}
		})
	}
}

// Bad usage: exit status 2, one line on stderr, nothing on stdout, and
// nothing done.
func TestBadUsage(t *testing.T) {
	key := persist.Key("x")
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			a1, _, _, _, _ := populated(t, f)
			for _, tt := range []struct {
				args []string
				msg  string
			}{
				{nil, "no command"},
				{[]string{"frobnicate"}, `unknown command "frobnicate"`},
				{[]string{"-nope", "ls"}, "flag provided but not defined: -nope"},
				{[]string{"-timeout", "0", "ls"}, "-timeout must be positive"},
				{[]string{"-timeout", "soon", "ls"}, "invalid value"},
				{[]string{"ls", "extra"}, `ls: unexpected argument "extra"`},
				{[]string{"ls", "-owner"}, "flag needs an argument"},
				{[]string{"show"}, "show: which session?"},
				{[]string{"show", key, key}, "unexpected argument"},
				{[]string{"show", "../../etc/passwd"}, `"../../etc/passwd" is not a session key`},
				{[]string{"show", strings.ToUpper(key)}, "is not a session key"},
				{[]string{"show", key[:63]}, "is not a session key"},
				{[]string{"rm"}, "rm: which sessions?"},
				{[]string{"rm", a1, "session-" + key}, "is not a session key"},
				{[]string{"revoke"}, "-owner NAME is required"},
				{[]string{"revoke", "-owner", ""}, "-owner NAME is required"},
				{[]string{"sweep", "now"}, "unexpected argument"},
				{[]string{"stats", "-owner", "x"}, "flag provided but not defined"},
			} {
				r := f.run(t, tt.args...)
				assert.Equal(t, 2, r.code, "%q: exit status", tt.args)
				assert.Empty(t, r.out, "%q: stdout", tt.args)
				assert.True(t, strings.HasPrefix(r.err, "lockstep: "), "%q: stderr %q", tt.args, r.err)
				assert.Contains(t, r.err, tt.msg, "%q", tt.args)
				assert.Equal(t, 1, strings.Count(r.err, "\n"), "%q: one line: %q", tt.args, r.err)
			}
			_, _, err := f.store.Inspect(t.Context(), a1)
			assert.NoError(t, err, "the session rm was given with a bad key")
		})
	}
}

// -h prints the usage on stdout and succeeds.
func TestHelp(t *testing.T) {
	f := fixtures(t)[1]
	r := f.run(t, "-h")
	assert.Equal(t, 0, r.code)
	assert.Empty(t, r.err)
	for _, c := range []string{"ls", "show", "rm", "revoke", "sweep", "stats", "-dir", "-timeout", "exit status"} {
		assert.Contains(t, r.out, c)
	}
}

// The command line names exactly one store, with the flags of its backend.
func TestStoreFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"ls"}, "which store? give -dir DIR, -redis ADDR or -postgres DSN"},
		{[]string{"-dir", dir, "-redis", "localhost:6379", "ls"}, "-dir and -redis: give one store"},
		{[]string{"-dir", dir, "-prefix", "x:", "ls"}, "-prefix goes with -redis, not -dir"},
		{[]string{"-dir", "", "ls"}, "-dir DIR is empty"},
		{[]string{"-redis", "", "ls"}, "-redis ADDR is empty"},
		{[]string{"-redis", "nohost", "ls"}, `-redis: "nohost" is not host:port`},
		{[]string{"-dir", dir, "-table", "t", "ls"}, "-table goes with -postgres, not -dir"},
		{[]string{"-postgres", "", "ls"}, "-postgres DSN is empty"},
	} {
		var out, errb bytes.Buffer
		code := cli.Main(t.Context(), "lockstep", tt.args, &out, &errb, cli.Backends()...)
		assert.Equal(t, 2, code, "%q: exit status", tt.args)
		assert.Equal(t, "lockstep: "+tt.msg, strings.SplitN(errb.String(), " (lockstep -h", 2)[0], "%q: stderr", tt.args)
		assert.Empty(t, out.String(), "%q: stdout", tt.args)
	}
}

// The Dir backend needs an existing directory, and says so.
func TestDirBackend(t *testing.T) {
	run := func(args ...string) result {
		var out, errb bytes.Buffer
		code := cli.Main(t.Context(), "lockstep", args, &out, &errb, cli.Backends()...)
		return result{out.String(), errb.String(), code}
	}
	missing := filepath.Join(t.TempDir(), "typo")
	r := run("-dir", missing, "ls")
	assert.Equal(t, result{"", "lockstep: -dir " + missing + ": no such directory\n", 1}, r)
	_, err := os.Stat(missing)
	assert.ErrorIs(t, err, os.ErrNotExist, "a missing -dir was created")

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	r = run("-dir", file, "ls")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.err, "not a directory")
}

// A cancelled context (Ctrl-C) stops a command with status 1.
func TestCancelled(t *testing.T) {
	f := fixtures(t)[1]
	populated(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errb bytes.Buffer
	code := cli.Main(ctx, "lockstep", append(f.args, "ls"), &out, &errb, f.back)
	assert.Equal(t, 1, code)
	assert.Contains(t, errb.String(), "context canceled")
}

// hold takes the lock of key in f's store, as a live engine would, until
// the test ends.
func hold(t *testing.T, f *fixture, key string) {
	t.Helper()
	l, err := f.store.LockKey(t.Context(), key, nil)
	require.NoError(t, err)
	t.Cleanup(func() { l.Release() })
}
