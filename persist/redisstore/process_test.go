//go:build unix

package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Cross-process tests re-execute the test binary in a child role: each
// child is a real process with its own client, Store and engine, like a
// second host.

const childRoleEnv = "LOCKSTEP_REDIS_CHILD"

// runChild runs a child role and returns the exit code.
func runChild(role string) int {
	addr, id := os.Getenv("LOCKSTEP_REDIS_ADDR"), os.Getenv("LOCKSTEP_ID")
	n, _ := strconv.Atoi(os.Getenv("LOCKSTEP_N"))
	lease, _ := time.ParseDuration(os.Getenv("LOCKSTEP_LEASE"))
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	store, err := redisstore.New(client, redisstore.Config{LeaseTTL: lease})
	if err != nil {
		fmt.Fprintln(os.Stderr, "store:", err)
		return 2
	}
	defer store.Close()
	eng, err := engine.New(store, engine.Config{LockTimeout: time.Minute, PassivateAfter: time.Hour, SweepInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "engine:", err)
		return 2
	}
	defer eng.Close()
	ctx := context.Background()
	switch role {
	case "increment":
		for range n {
			if err := incr(ctx, eng, id); err != nil {
				fmt.Fprintln(os.Stderr, "do:", err)
				return 1
			}
		}
	case "hold":
		// Take the session, say so, and keep it until killed.
		err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.Set("n", 7)
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "do:", err)
			return 1
		}
		fmt.Println("held")
		_, _ = io.Copy(io.Discard, os.Stdin)
	case "stall":
		// Change the session inside a turn that waits for a line on stdin,
		// then report how the turn's commit went.
		err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.Set("n", -1)
			fmt.Println("in turn")
			_, err := bufio.NewReader(os.Stdin).ReadString('\n')
			return err
		})
		switch {
		case errors.Is(err, persist.ErrLockLost):
			fmt.Println("lost")
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Println("committed")
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 2
	}
	return 0
}

// child prepares a child process in role on srv's Redis and session id.
func child(t *testing.T, srv *server, role, id string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"="+role, "LOCKSTEP_REDIS_ADDR="+srv.Addr, "LOCKSTEP_ID="+id)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// started starts cmd with pipes to its stdin and stdout, and kills it when
// the test ends if it is still running.
func started(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, *bufio.Reader) {
	t.Helper()
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return in, bufio.NewReader(out)
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	line, err := r.ReadString('\n')
	require.NoError(t, err, "reading the child's %q", want)
	require.Equal(t, want, strings.TrimSpace(line))
}

// createSession creates a session with a short-lived engine of the test
// process, which keeps nothing of it.
func createSession(t *testing.T, srv *server) string {
	t.Helper()
	e, err := engine.New(srv.store(t, redisstore.Config{}), engine.Config{SweepInterval: -1})
	require.NoError(t, err)
	defer e.Close()
	id, err := e.Create(context.Background())
	require.NoError(t, err)
	return id
}

func TestProcessesIncrementWithoutLoss(t *testing.T) {
	srv := startRedis(t)
	id := createSession(t, srv)
	const procs, each = 3, 40
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = child(t, srv, "increment", id, "LOCKSTEP_N="+strconv.Itoa(each))
		require.NoError(t, cmds[i].Start())
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait())
	}
	e := newEngine(t, srv, redisstore.Config{}, engine.Config{})
	assert.Equal(t, procs*each, counter(t, e, id))
}

func TestKilledHolderIsTakenOverAfterItsLease(t *testing.T) {
	srv := startRedis(t)
	id := createSession(t, srv)
	cmd := child(t, srv, "hold", id, "LOCKSTEP_LEASE=500ms")
	_, out := started(t, cmd)
	expectLine(t, out, "held")
	require.NoError(t, cmd.Process.Kill()) // kill -9: no release, no hand-over
	_ = cmd.Wait()

	// The request to hand over goes unanswered; the lease runs out.
	e := newEngine(t, srv, redisstore.Config{}, engine.Config{LockTimeout: 10 * time.Second})
	assert.Equal(t, 7, counter(t, e, id), "the dead holder's last commit")
}

func TestPausedHolderCannotOverwriteWhenItResumes(t *testing.T) {
	srv := startRedis(t)
	id := createSession(t, srv)
	cmd := child(t, srv, "stall", id, "LOCKSTEP_LEASE=500ms")
	in, out := started(t, cmd)
	expectLine(t, out, "in turn")
	require.NoError(t, cmd.Process.Signal(syscall.SIGSTOP))

	// This engine gets the session once the paused holder's lease runs out.
	e := newEngine(t, srv, redisstore.Config{}, engine.Config{LockTimeout: 10 * time.Second})
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set("n", 100)
		return nil
	}))

	require.NoError(t, cmd.Process.Signal(syscall.SIGCONT))
	_, err := io.WriteString(in, "go on\n")
	require.NoError(t, err)
	expectLine(t, out, "lost")
	require.NoError(t, cmd.Wait())
	assert.Equal(t, 100, counter(t, e, id), "the resumed holder wrote nothing")
}
