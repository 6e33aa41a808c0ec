package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/cmd/lockstep/internal/cli"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

const (
	childDirEnv  = "LOCKSTEP_CLI_DIR"
	childArgsEnv = "LOCKSTEP_CLI_ARGS" // the "cli" role's arguments, one a line
)

// runCLI plays the "cli" role: the command line, as cmd/lockstep runs it,
// in a process of its own (which has registered no gob type), with -dir
// from childDirEnv if it is set.
func runCLI() int {
	args := strings.Split(os.Getenv(childArgsEnv), "\n")
	if dir := os.Getenv(childDirEnv); dir != "" {
		args = append([]string{"-dir", dir}, args...)
	}
	return cli.Main(context.Background(), "lockstep", args, os.Stdout, os.Stderr, cli.Backends()...)
}

// runChild plays the "engine" role: an engine on the directory that runs
// the commands it reads on stdin, one a line, and answers each on stdout:
// "read ID" (a Do that reads n: "ok N"), "incr ID" (a Do that increments
// n: "ok N"); a session that is gone answers "notfound".
func runChild(role string) error {
	if role != "engine" {
		return fmt.Errorf("unknown role %q", role)
	}
	eng, err := engine.Open(os.Getenv(childDirEnv), engine.Config{})
	if err != nil {
		return err
	}
	defer eng.Close()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		op, id, _ := strings.Cut(in.Text(), " ")
		var n int
		err := eng.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			n, _ = engine.Get[int](s, "n")
			if op == "incr" {
				n++
				s.Set("n", n)
			}
			return nil
		})
		switch {
		case errors.Is(err, engine.ErrNotFound):
			fmt.Println("notfound")
		case err != nil:
			return err
		default:
			fmt.Println("ok", n)
		}
	}
	return in.Err()
}

// ls -json and revoke on a directory that a live engine in another process
// is using: the engine's sessions are listed as locked; revoke gets them
// handed over and destroys them, and the engine keeps serving the others
// while the revoked ones are gone for it.
func TestLiveEngine(t *testing.T) {
	dir := t.TempDir()
	d, err := filestore.Open(dir, filestore.Config{})
	require.NoError(t, err)
	now := time.Now()
	var alice []string
	for range 3 {
		id := testkit.NewID()
		put(t, d, id, "alice", now, now.Add(engine.DefaultIdleTimeout), encode(t, map[string]any{"n": 1}))
		alice = append(alice, id)
	}
	bob := testkit.NewID()
	put(t, d, bob, "bob", now, now.Add(engine.DefaultIdleTimeout), encode(t, map[string]any{"n": 1}))
	require.NoError(t, d.Close())

	c := testkit.StartT(t, "engine", childDirEnv+"="+dir)
	ask := func(line string) string {
		t.Helper()
		require.NoError(t, c.Send(line))
		return c.Line(t)
	}
	for _, id := range alice {
		require.Equal(t, "ok 1", ask("read "+id), "the engine's first read")
	}
	require.Equal(t, "ok 2", ask("incr "+bob))

	run := func(args ...string) result {
		var out, errb strings.Builder
		code := cli.Main(t.Context(), "lockstep", append([]string{"-dir", dir}, args...), &out, &errb, cli.Backends()...)
		return result{out.String(), errb.String(), code}
	}
	r := run("ls", "-json")
	require.Equal(t, 0, r.code, r.err)
	listed := map[string]map[string]any{}
	for _, line := range r.lines() {
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &obj))
		listed[obj["key"].(string)] = obj
	}
	require.Len(t, listed, 4, "ls -json:\n%s", r.out)
	for _, id := range alice {
		assert.Equal(t, "alice", listed[persist.Key(id)]["owner"])
		assert.Equal(t, true, listed[persist.Key(id)]["locked"], "locked: resident in the engine")
	}
	assert.Equal(t, true, listed[persist.Key(bob)]["locked"])
	require.Equal(t, "ok 1", ask("read "+alice[0]), "the engine after ls: its locks still hold its sessions")

	start := time.Now()
	r = run("revoke", "-owner", "alice")
	t.Logf("revoke of 3 sessions resident in another process: %v", time.Since(start))
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, "destroyed 3\n", r.out)
	for _, id := range alice {
		assert.Equal(t, "notfound", ask("read "+id), "a revoked session, for the engine")
	}
	assert.Equal(t, "ok 3", ask("incr "+bob), "the engine's other session after revoke")

	r = run("ls")
	require.Equal(t, 0, r.code, r.err)
	require.Len(t, r.lines(), 1)
	// (The owner is not checked: an engine that does not keep Record.Owner
	// drops it when it commits.)
	assert.Regexp(t, `^`+persist.Key(bob)+`  .*  locked$`, r.lines()[0])
	require.NoError(t, c.Wait())
}

// show decodes the value types the engine stores without registration
// (maps, []any, time.Time) in a process that registered nothing, as
// cmd/lockstep is.
func TestShowCommonTypes(t *testing.T) {
	dir := t.TempDir()
	d, err := filestore.Open(dir, filestore.Config{})
	require.NoError(t, err)
	eng, err := engine.New(d, engine.Config{}) // registers the common types here
	require.NoError(t, err)
	require.NoError(t, eng.Close())
	when := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	key := put(t, d, testkit.NewID(), "gina", created, expires, encode(t, map[string]any{
		"when": when, "prefs": map[string]any{"lang": "en"}, "tags": []any{"a", 1},
	}))
	require.NoError(t, d.Close())

	cmd, err := testkit.Command("cli", childDirEnv+"="+dir, childArgsEnv+"=show\n"+key)
	require.NoError(t, err)
	out, err := cmd.Output()
	require.NoError(t, err, "lockstep show in a process of its own")
	for _, want := range []string{
		"values    3\n",
		`  prefs  map[string]interface {}  map[string]interface {}{"lang":"en"}` + "\n",
		`  tags   []interface {}           []interface {}{"a", 1}` + "\n",
		"  when   time.Time                2025-06-01T10:00:00Z\n",
	} {
		assert.Contains(t, string(out), want)
	}
}
