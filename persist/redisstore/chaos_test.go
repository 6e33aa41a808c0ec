//go:build unix

package redisstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The failover tests (Jepsen's method): engines in several processes
// increment a few shared sessions through go-redis's failover or cluster
// client while a fault hits the primaries; every acknowledged increment's
// value is recorded and checked against the final counters. An
// acknowledged increment is lost if its value is above the final counter
// (the write is gone), or if the same value was acknowledged twice (two
// holders committed on the same state: one of the two is gone).

// Chaos run parameters: processes, workers in each, sessions, and how
// long the load runs before the fault and after the topology healed.
const (
	chaosProcs    = 3
	chaosWorkers  = 2
	chaosSessions = 4
	chaosBefore   = time.Second
	chaosAfter    = time.Second
)

// The chaos child's environment.
const (
	chaosTopologyEnv = "LOCKSTEP_CHAOS_TOPOLOGY" // "sentinel" or "cluster"
	chaosAddrsEnv    = "LOCKSTEP_CHAOS_ADDRS"    // Sentinel or Cluster node addresses, comma-separated
	chaosIDsEnv      = "LOCKSTEP_CHAOS_IDS"      // session IDs, comma-separated
	chaosWaitEnv     = "LOCKSTEP_CHAOS_WAIT"     // WaitReplicas
)

// chaosClient returns a client of the topology: a failover client over
// the Sentinels, or a cluster client; short timeouts, so that a paused
// primary fails calls rather than holding them for seconds.
func chaosClient(topology string, addrs []string) redis.UniversalClient {
	const timeout = 500 * time.Millisecond
	if topology == "cluster" {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRetries: 1,
			DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout})
	}
	return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: testkit.SentinelName, SentinelAddrs: addrs,
		MaxRetries: 1, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout})
}

// chaosStore is the store configuration of the engines of a chaos run.
// The test process's own engine, which creates the sessions and reads the
// final counters, waits longer for its replica than the children do: on
// a loaded machine a replica can go unscheduled for longer than 200ms.
func chaosStore(wait int, timeout time.Duration) redisstore.Config {
	return redisstore.Config{Prefix: "chaos:", LeaseTTL: 2 * time.Second, WaitReplicas: wait, WaitTimeout: timeout}
}

// runChaos is the chaos child: its workers increment the sessions, round
// robin, until a line (or the end) arrives on stdin; then it prints, per
// session, "acks <index> <values acknowledged...>", then "failed <n>" and
// "end".
func runChaos() int {
	addrs := strings.Split(os.Getenv(chaosAddrsEnv), ",")
	ids := strings.Split(os.Getenv(chaosIDsEnv), ",")
	wait, _ := strconv.Atoi(os.Getenv(chaosWaitEnv))
	client := chaosClient(os.Getenv(chaosTopologyEnv), addrs)
	defer client.Close()
	store, err := redisstore.New(client, chaosStore(wait, 200*time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, "store:", err)
		return 2
	}
	defer store.Close()
	eng, err := engine.New(store, engine.Config{LockTimeout: 2 * time.Second, SweepInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "engine:", err)
		return 2
	}
	defer eng.Close()

	stop := make(chan struct{})
	go func() { // ends when stdin does, or at its first line
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(stop)
	}()
	var mu sync.Mutex // guards acks and failed
	acks := make([][]int, len(ids))
	failed := 0
	var wg sync.WaitGroup
	for w := range chaosWorkers {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s := i % len(ids)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				var v int
				err := eng.Do(ctx, ids[s], func(_ context.Context, sess *engine.Session) error {
					n, _ := engine.Get[int](sess, "n")
					v = n + 1
					sess.Set("n", v)
					return nil
				})
				cancel()
				mu.Lock()
				if err == nil {
					acks[s] = append(acks[s], v)
				} else {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for s, vs := range acks {
		fmt.Print("acks ", s)
		for _, v := range vs {
			fmt.Print(" ", v)
		}
		fmt.Println()
	}
	fmt.Println("failed", failed)
	fmt.Println("end")
	return 0
}

// chaosResult is what a chaos run found.
type chaosResult struct {
	acked, failed int
	lost          int // acknowledged values above the final counter, and values acknowledged more than once beyond the first
	twice         int // values acknowledged more than once
	below         int // sessions whose final counter is below the largest value acknowledged
}

func (r chaosResult) String() string {
	return fmt.Sprintf("acknowledged %d, lost %d, acknowledged twice %d, sessions below their largest acknowledged value %d, failed %d",
		r.acked, r.lost, r.twice, r.below, r.failed)
}

// chaos runs the load on a topology (its client from newClient) while
// fault strikes, and checks the history.
func chaos(t *testing.T, topology string, addrs []string, wait int, fault func()) chaosResult {
	t.Helper()
	ctx := context.Background()
	// The sessions, created and replicated before the load starts.
	client := chaosClient(topology, addrs)
	defer client.Close()
	store, err := redisstore.New(client, chaosStore(1, 2*time.Second))
	require.NoError(t, err)
	defer store.Close()
	eng, err := engine.New(store, engine.Config{SweepInterval: -1, LockTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer eng.Close()
	ids := make([]string, chaosSessions)
	for i := range ids {
		ids[i], err = eng.Create(ctx)
		require.NoError(t, err)
	}
	require.NoError(t, eng.Close()) // let go of them

	env := []string{chaosTopologyEnv + "=" + topology, chaosAddrsEnv + "=" + strings.Join(addrs, ","),
		chaosIDsEnv + "=" + strings.Join(ids, ","), chaosWaitEnv + "=" + strconv.Itoa(wait)}
	children := make([]*testkit.Child, chaosProcs)
	for i := range children {
		children[i] = testkit.StartT(t, "chaos", env...)
	}
	time.Sleep(chaosBefore) // load before the fault
	fault()
	time.Sleep(chaosAfter) // load after the topology healed

	var res chaosResult
	acks := make([][]int, chaosSessions)
	for _, c := range children {
		require.NoError(t, c.Send("stop"))
		for {
			line := c.Line(t)
			if line == "end" {
				break
			}
			f := strings.Fields(line)
			switch f[0] {
			case "acks":
				s, _ := strconv.Atoi(f[1])
				for _, v := range f[2:] {
					n, _ := strconv.Atoi(v)
					acks[s] = append(acks[s], n)
				}
			case "failed":
				n, _ := strconv.Atoi(f[1])
				res.failed += n
			}
		}
		require.NoError(t, c.Wait())
	}

	// The final counters, read by an engine of the test process.
	eng2, err := engine.New(store, engine.Config{SweepInterval: -1, LockTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer eng2.Close()
	for s, id := range ids {
		var final int
		testkit.WaitFor(t, "the final counter", func() bool {
			return eng2.Do(ctx, id, func(_ context.Context, sess *engine.Session) error {
				final, _ = engine.Get[int](sess, "n")
				return nil
			}) == nil
		})
		vs := acks[s]
		slices.Sort(vs)
		res.acked += len(vs)
		for i, v := range vs {
			switch {
			case i > 0 && vs[i-1] == v:
				res.lost++
				if i == 1 || vs[i-2] != v {
					res.twice++
				}
			case v > final:
				res.lost++
			}
		}
		if len(vs) > 0 && vs[len(vs)-1] > final {
			res.below++
		}
	}
	return res
}

// checkChaos asserts, with WaitReplicas, that nothing acknowledged was
// lost; without, it reports what was.
func checkChaos(t *testing.T, fault string, wait int, res chaosResult) {
	t.Helper()
	t.Logf("%s, WaitReplicas %d: %v", fault, wait, res)
	if wait == 0 {
		return
	}
	assert.Positive(t, res.acked, "acknowledged increments")
	assert.Zero(t, res.lost, "acknowledged increments lost")
	assert.Zero(t, res.twice, "values acknowledged twice")
	assert.Zero(t, res.below, "sessions whose final counter is below the largest acknowledged")
}

func TestFailoverSentinel(t *testing.T) {
	faults := []struct {
		name   string
		strike func(t *testing.T, s *testkit.Sentinel)
	}{
		{"SENTINEL FAILOVER", func(t *testing.T, s *testkit.Sentinel) {
			old := s.Primary(t)
			_, err := s.Sentinels[0].CLI("sentinel", "failover", testkit.SentinelName)
			require.NoError(t, err)
			s.AwaitFailover(t, old)
		}},
		{"primary killed (SIGKILL)", func(t *testing.T, s *testkit.Sentinel) {
			old := s.Primary(t)
			old.Stop()
			next := s.AwaitPromotion(t, old)
			old.Restart(t, "--replicaof", "127.0.0.1", next.Port()) // empty: it may come back only as a replica
			s.AwaitFailover(t, old)
		}},
		{"primary paused (SIGSTOP) past the Sentinels' timeout", func(t *testing.T, s *testkit.Sentinel) {
			old := s.Primary(t)
			require.NoError(t, old.Signal(syscall.SIGSTOP))
			s.AwaitPromotion(t, old)
			require.NoError(t, old.Signal(syscall.SIGCONT))
			s.AwaitFailover(t, old)
		}},
	}
	for _, f := range faults {
		for _, wait := range []int{1, 0} {
			t.Run(fmt.Sprintf("%s/wait=%d", f.name, wait), func(t *testing.T) {
				s := testkit.StartSentinel(t)
				res := chaos(t, "sentinel", s.Addrs(), wait, func() { f.strike(t, s) })
				checkChaos(t, f.name, wait, res)
			})
		}
	}
}

func TestFailoverCluster(t *testing.T) {
	for _, fault := range []string{"", "takeover"} {
		name := strings.TrimSpace("CLUSTER FAILOVER " + strings.ToUpper(fault))
		for _, wait := range []int{1, 0} {
			t.Run(fmt.Sprintf("%s/wait=%d", name, wait), func(t *testing.T) {
				c := testkit.StartCluster(t)
				res := chaos(t, "cluster", c.Addrs(), wait, func() { c.Failover(t, strings.Fields(fault)...) })
				checkChaos(t, name, wait, res)
			})
		}
	}
}
