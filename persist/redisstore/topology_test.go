package redisstore_test

import (
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/internal/testkit/enginekit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/lockstep-go/lockstep/persist/storetest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newStore returns a Store over client, closed when the test ends.
func newStore(t testing.TB, client redis.UniversalClient, cfg redisstore.Config) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(client, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// clusterClient returns a client of c, closed when the test ends.
func clusterClient(t testing.TB, c *testkit.Cluster) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// nodeClient returns a client of one server, closed when the test ends.
func nodeClient(t testing.TB, r *testkit.Redis) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestNewRejectsWaitWithoutAPrimaryToAsk(t *testing.T) {
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	_, err := redisstore.New(ring, redisstore.Config{WaitReplicas: 1})
	assert.ErrorContains(t, err, "WaitReplicas needs")
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	_, err = redisstore.New(c, redisstore.Config{WaitReplicas: -1})
	assert.Error(t, err)
}

// The store's conformance over the replicated topologies, with WAIT.

func TestConformanceSentinel(t *testing.T) {
	s := testkit.StartSentinel(t)
	storetest.Run(t, func(t *testing.T) persist.Store {
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: testkit.SentinelName, SentinelAddrs: s.Addrs()})
		t.Cleanup(func() { c.Close() })
		st, err := redisstore.New(c, redisstore.Config{Prefix: "conformance:" + t.Name() + ":", WaitReplicas: 1, WaitTimeout: 2 * time.Second})
		require.NoError(t, err)
		return st
	}, storetest.HandsOver())
}

func TestConformanceCluster(t *testing.T) {
	c := testkit.StartCluster(t)
	storetest.Run(t, func(t *testing.T) persist.Store {
		st, err := redisstore.New(clusterClient(t, c), redisstore.Config{Prefix: "conformance:" + t.Name() + ":", WaitReplicas: 1, WaitTimeout: 2 * time.Second})
		require.NoError(t, err)
		return st
	}, storetest.HandsOver())
}

func TestEngineConcurrentIncrementsOverSentinelAndCluster(t *testing.T) {
	s := testkit.StartSentinel(t)
	c := testkit.StartCluster(t)
	cfg := redisstore.Config{WaitReplicas: 1, WaitTimeout: 2 * time.Second}
	for name, client := range map[string]func() redis.UniversalClient{
		"sentinel": func() redis.UniversalClient {
			return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: testkit.SentinelName, SentinelAddrs: s.Addrs()})
		},
		"cluster": func() redis.UniversalClient { return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()}) },
	} {
		t.Run(name, func(t *testing.T) {
			engines := make([]*engine.Engine, 2)
			for i := range engines {
				cl := client()
				t.Cleanup(func() { cl.Close() })
				e, err := engine.New(newStore(t, cl, cfg), engine.Config{SweepInterval: -1})
				require.NoError(t, err)
				t.Cleanup(func() { e.Close() })
				engines[i] = e
			}
			enginekit.IncrementTogether(t, 4, 25, engines[0], engines[1])
		})
	}
}
