//go:build unix

package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/internal/testkit/enginekit"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Cross-process tests re-execute the test binary in a child role
// (internal/testkit): each child is a real process with its own client,
// Store and engine, like a second host.

// runChild runs a child role and returns the exit code.
func runChild(role string) int {
	if role == "chaos" {
		return runChaos()
	}
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
	if code, ok := enginekit.RunHolderRole(ctx, eng, id, role); ok {
		return code
	}
	switch role {
	case "increment":
		for range n {
			if err := enginekit.Incr(ctx, eng, id); err != nil {
				fmt.Fprintln(os.Stderr, "do:", err)
				return 1
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 2
	}
	return 0
}

// child starts a child process in role on srv's Redis and session id; it
// is killed when the test ends if it is still running.
func child(t *testing.T, srv *server, role, id string, env ...string) *testkit.Child {
	t.Helper()
	return testkit.StartT(t, role, append([]string{"LOCKSTEP_REDIS_ADDR=" + srv.Addr, "LOCKSTEP_ID=" + id}, env...)...)
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
	children := make([]*testkit.Child, procs)
	for i := range children {
		children[i] = child(t, srv, "increment", id, "LOCKSTEP_N="+strconv.Itoa(each))
	}
	for _, c := range children {
		require.NoError(t, c.Wait())
	}
	e := newEngine(t, srv, redisstore.Config{}, engine.Config{})
	assert.Equal(t, procs*each, enginekit.Counter(t, e, id))
}

func TestKilledHolderIsTakenOverAfterItsLease(t *testing.T) {
	enginekit.KilledHolderIsTakenOver(t, holderChild(t, "hold"))
}

func TestPausedHolderCannotOverwriteWhenItResumes(t *testing.T) {
	enginekit.PausedHolderCannotOverwrite(t, holderChild(t, "stall"))
}

// holderChild starts a child in role (of enginekit.RunHolderRole) with a
// lease of 500ms on a session of a Redis of the test's own, and returns it
// with a func that makes an engine on that Redis.
func holderChild(t *testing.T, role string) enginekit.Holder {
	t.Helper()
	srv := startRedis(t)
	id := createSession(t, srv)
	c := child(t, srv, role, id, "LOCKSTEP_LEASE=500ms")
	return enginekit.Holder{Child: c, ID: id, NewEngine: func() *engine.Engine {
		return newEngine(t, srv, redisstore.Config{}, engine.Config{LockTimeout: 10 * time.Second})
	}}
}
