package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
)

// putVia stores a session of owner through a Store on client.
func putVia(t *testing.T, client redis.UniversalClient, id, owner string) {
	t.Helper()
	st, err := redisstore.New(client, redisstore.Config{})
	require.NoError(t, err)
	defer st.Close()
	l, err := st.Lock(t.Context(), id, nil)
	require.NoError(t, err)
	now := time.Now()
	require.NoError(t, l.Save(persist.Record{Created: now, Expires: now.Add(time.Hour), Owner: owner}, false))
	require.NoError(t, l.Release())
}

// -redis sentinel://SENTINEL/MASTER finds the primary through Sentinel.
func TestRedisSentinel(t *testing.T) {
	s := testkit.StartSentinel(t)
	client := redis.NewClient(&redis.Options{Addr: s.Primary(t).Addr})
	defer client.Close()
	id := testkit.NewID()
	putVia(t, client, id, "sam")

	sentinel := s.Addrs()[0]
	r := redisRun(t, "-redis", "sentinel://"+sentinel+"/"+testkit.SentinelName, "ls")
	require.Equal(t, 0, r.code, r.err)
	assert.Regexp(t, `^`+persist.Key(id)+`  sam  `, r.out)

	r = redisRun(t, "-redis", "sentinel://"+sentinel+"/nosuchmaster", "ls")
	assert.Equal(t, 1, r.code, "a primary the sentinel does not know: %s", r.out)
	assert.Contains(t, r.err, "sentinel://"+sentinel+"/nosuchmaster")
}

// -redis host:port,host:port runs on a Redis Cluster.
func TestRedisCluster(t *testing.T) {
	nodes := testkit.StartCluster(t).Addrs()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: nodes})
	defer cc.Close()
	var keys []string
	for range 6 { // spread over the primaries
		id := testkit.NewID()
		putVia(t, cc, id, "cleo")
		keys = append(keys, persist.Key(id))
	}
	addr := strings.Join(nodes, ",")
	r := redisRun(t, "-redis", addr, "ls", "-owner", "cleo")
	require.Equal(t, 0, r.code, r.err)
	assert.Len(t, r.lines(), len(keys), r.out)
	for _, k := range keys {
		assert.Contains(t, r.out, k)
	}
	r = redisRun(t, "-redis", "redis://"+addr, "revoke", "-owner", "cleo")
	require.Equal(t, 0, r.code, r.err)
	assert.Equal(t, fmt.Sprintf("destroyed %d\n", len(keys)), r.out)
	r = redisRun(t, "-redis", addr, "ls")
	assert.Equal(t, result{"", "lockstep: no sessions in -redis " + addr + "\n", 0}, r)
}
