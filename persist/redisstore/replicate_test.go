//go:build unix

package redisstore_test

import (
	"context"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/internal/testkit/enginekit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var waitCalls = regexp.MustCompile(`cmdstat_wait:calls=(\d+)`)

// waits returns how many WAITs r has run (INFO commandstats).
func waits(t testing.TB, r *testkit.Redis) int {
	t.Helper()
	out, err := r.CLI("info", "commandstats")
	require.NoError(t, err)
	m := waitCalls.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

func TestWaitReachesThePrimaryOfTheSlot(t *testing.T) {
	c := testkit.StartCluster(t)
	st := newStore(t, clusterClient(t, c), redisstore.Config{WaitReplicas: 1, WaitTimeout: time.Second})
	ctx := context.Background()
	before := make([]int, len(c.Nodes))
	for i, n := range c.Nodes {
		before[i] = waits(t, n)
	}

	l := lock(t, st, testID, nil)
	require.NoError(t, l.Save(persist.Record{Data: []byte("x")}, false))
	require.NoError(t, l.Delete())

	owner := -1
	for i, n := range c.Nodes {
		if n.Info("replication", "role") != "master" {
			continue
		}
		if got := waits(t, n) - before[i]; got > 0 {
			assert.Equal(t, -1, owner, "WAITs on two primaries")
			owner = i
			// Lease, save, delete (and one more each while the scripts
			// were not yet loaded there).
			assert.GreaterOrEqual(t, got, 3, "WAITs on %s", n.Addr)
		}
	}
	require.NotEqual(t, -1, owner, "no primary ran a WAIT")
	// The primary that ran them owns the session's slot.
	m, err := clusterClient(t, c).MasterForKey(ctx, recKey(testID))
	require.NoError(t, err)
	assert.Equal(t, c.Nodes[owner].Addr, m.Options().Addr, "the WAITs ran on the session's primary")
}

func TestLeaseNotReplicatedIsReleased(t *testing.T) {
	primary, _ := testkit.StartReplicated(t, 1)
	c := nodeClient(t, primary)
	st := newStore(t, c, redisstore.Config{WaitReplicas: 2, WaitTimeout: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := st.Lock(ctx, testID, nil)
	require.ErrorIs(t, err, redisstore.ErrNotReplicated)
	assert.NotErrorIs(t, err, persist.ErrLockLost)
	n, err := c.Exists(ctx, lockKey(testID)).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "the lease that was taken but not replicated is let go at once")
}

func TestSaveNotReplicatedDropsTheSession(t *testing.T) {
	primary, replicas := testkit.StartReplicated(t, 1)
	st := newStore(t, nodeClient(t, primary), redisstore.Config{WaitReplicas: 1, WaitTimeout: time.Second})
	e, err := engine.New(st, engine.Config{SweepInterval: -1, PassivateAfter: time.Hour})
	require.NoError(t, err)
	defer e.Close()
	ctx := context.Background()
	id, err := e.Create(ctx)
	require.NoError(t, err)
	require.NoError(t, enginekit.Incr(ctx, e, id))

	require.NoError(t, replicas[0].Signal(syscall.SIGSTOP))
	err = enginekit.Incr(ctx, e, id)
	require.NoError(t, replicas[0].Signal(syscall.SIGCONT))
	require.ErrorIs(t, err, redisstore.ErrNotReplicated)
	require.ErrorIs(t, err, persist.ErrLockLost, "the record is in doubt")
	assert.Equal(t, uint64(1), e.Stats().LocksLost, "the resident copy is dropped")

	activations := e.Stats().Activations
	n := enginekit.Counter(t, e, id)
	assert.Equal(t, activations+1, e.Stats().Activations, "the next Do loads the record again")
	assert.Contains(t, []int{1, 2}, n, "the unacknowledged write may or may not be there")
}

func TestReleaseDoesNotWaitForAPausedServer(t *testing.T) {
	srv := testkit.StartRedis(t)
	// No read timeout: a call to the paused server waits until it resumes.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: -1})
	defer c.Close()
	st, err := redisstore.New(c, redisstore.Config{})
	require.NoError(t, err)
	l := lock(t, st, testID, nil)

	require.NoError(t, srv.Signal(syscall.SIGSTOP))
	require.NoError(t, l.Release(), "returns while Redis does not answer")
	require.NoError(t, srv.Signal(syscall.SIGCONT))
	require.NoError(t, st.Close(), "waits for the release, which Redis now answers")
	n, err := c.Exists(context.Background(), lockKey(testID)).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "the lease was released in the background")
}
