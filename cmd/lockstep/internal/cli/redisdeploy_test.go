package cli_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// startServer runs redis-server with args on a free loopback port until t
// ends, and returns its address once it has printed ready.
func startServer(t *testing.T, ready string, args ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", append(args, "--bind", "127.0.0.1", "--port", port, "--logfile", "")...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	drained := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-drained
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	var log strings.Builder
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), ready) {
			go func() { // ended by the cleanup's Kill, which waits for it
				defer close(drained)
				_, _ = io.Copy(io.Discard, out)
			}()
			return addr
		}
	}
	close(drained)
	t.Fatalf("redis-server %q did not start:\n%s", args, log.String())
	return ""
}

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
	primary := testkit.StartRedis(t)
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	host, port, _ := net.SplitHostPort(primary.Addr)
	require.NoError(t, writeFile(conf, fmt.Sprintf("sentinel monitor mymaster %s %s 1\n", host, port)))
	sentinel := startServer(t, "+monitor master mymaster", conf, "--sentinel")

	client := redis.NewClient(&redis.Options{Addr: primary.Addr})
	defer client.Close()
	id := testkit.NewID()
	putVia(t, client, id, "sam")

	r := redisRun(t, "-redis", "sentinel://"+sentinel+"/mymaster", "ls")
	require.Equal(t, 0, r.code, r.err)
	assert.Regexp(t, `^`+persist.Key(id)+`  sam  `, r.out)

	r = redisRun(t, "-redis", "sentinel://"+sentinel+"/nosuchmaster", "ls")
	assert.Equal(t, 1, r.code, "a primary the sentinel does not know: %s", r.out)
	assert.Contains(t, r.err, "sentinel://"+sentinel+"/nosuchmaster")
}

// -redis host:port,host:port runs on a Redis Cluster: here two primaries
// that share the slots.
func TestRedisCluster(t *testing.T) {
	if !testkit.HaveRedis() {
		testkit.StartRedis(t) // skips, or fails when Redis is required
	}
	dir := t.TempDir()
	var nodes []string
	for i := range 2 {
		nodes = append(nodes, startServer(t, "Ready to accept connections",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes-"+strconv.Itoa(i)+".conf"),
			"--save", "", "--appendonly", "no", "--dir", dir))
	}
	ctx := t.Context()
	a := redis.NewClient(&redis.Options{Addr: nodes[0]})
	defer a.Close()
	b := redis.NewClient(&redis.Options{Addr: nodes[1]})
	defer b.Close()
	require.NoError(t, a.ClusterAddSlotsRange(ctx, 0, 8191).Err())
	require.NoError(t, b.ClusterAddSlotsRange(ctx, 8192, 16383).Err())
	host, port, _ := net.SplitHostPort(nodes[1])
	require.NoError(t, a.ClusterMeet(ctx, host, port).Err())
	clusterOK := func(c *redis.Client) bool {
		info, err := c.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	}
	tick := time.NewTicker(20 * time.Millisecond) // the nodes gossip on their own clock
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !clusterOK(a) || !clusterOK(b) {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the cluster did not reach cluster_state:ok")
		}
	}

	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: nodes})
	defer cc.Close()
	var keys []string
	for range 6 { // spread over both primaries
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

func writeFile(name, s string) error { return os.WriteFile(name, []byte(s), 0o600) }
