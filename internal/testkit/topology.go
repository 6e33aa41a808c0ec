package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The replicated topologies below are private servers like StartRedis's:
// loopback ports, no persistence, diskless replication without delay,
// every replica's link up before they are returned, every wait bounded by
// topologyWait, everything stopped when the test ends.

// topologyWait bounds each wait for a topology to settle.
const topologyWait = 30 * time.Second

// StartReplicated starts a primary and n replicas of it, and returns
// once every replica streams. It skips or fails t as StartRedis does.
func StartReplicated(t testing.TB, n int) (primary *Redis, replicas []*Redis) {
	t.Helper()
	requireRedis(t)
	dir := t.TempDir()
	primary = startServer(t, 0, readyLine, func(port string) ([]string, error) { return serverArgs(dir, port), nil })
	for range n {
		replicas = append(replicas, startServer(t, 0, readyLine, func(port string) ([]string, error) {
			return append(serverArgs(dir, port), "--replicaof", "127.0.0.1", primary.Port()), nil
		}))
	}
	WaitFor(t, "the replicas' links", func() bool { return primary.acked(n) })
	return primary, replicas
}

// acked reports whether n replicas of r stream and acknowledge a write
// (FLUSHALL of the empty server: a replica that has not yet acknowledged
// anything does not count for WAIT, although it shows online).
func (r *Redis) acked(n int) bool {
	if r.OnlineReplicas() != n {
		return false
	}
	if _, err := r.CLI("flushall"); err != nil {
		return false
	}
	out, err := r.CLI("wait", strconv.Itoa(n), "100")
	return err == nil && out == strconv.Itoa(n)
}

// SentinelName is the name under which the Sentinels of StartSentinel
// monitor their primary.
const SentinelName = "mymaster"

// Sentinel is a primary with one replica, monitored by three Sentinels
// (quorum 2, the primary deemed down after one second without an answer).
type Sentinel struct {
	Nodes     []*Redis // the two data servers; which one is the primary changes with failovers
	Sentinels []*Redis
}

// StartSentinel starts a primary, its replica and three Sentinels, and
// returns once the replica streams and every Sentinel knows the replica
// and the two other Sentinels. It skips or fails t as StartRedis does.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	requireRedis(t)
	primary, replicas := StartReplicated(t, 1)
	s := &Sentinel{Nodes: []*Redis{primary, replicas[0]}}
	dir := t.TempDir()
	for range 3 {
		s.Sentinels = append(s.Sentinels, startServer(t, 0, "+monitor master", func(port string) ([]string, error) {
			conf := filepath.Join(dir, "sentinel-"+port+".conf")
			text := fmt.Sprintf("port %s\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"+
				"sentinel monitor %s 127.0.0.1 %s 2\n"+
				"sentinel down-after-milliseconds %[3]s 1000\n"+
				"sentinel failover-timeout %[3]s 5000\n", port, dir, SentinelName, primary.Port())
			if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
				return nil, err
			}
			return []string{conf, "--sentinel", "--logfile", "", "--loglevel", "notice"}, nil
		}))
	}
	WaitFor(t, "Sentinels that know the replica and each other", func() bool {
		for _, sn := range s.Sentinels {
			if sn.sentinelInfo("num-slaves") != "1" || sn.sentinelInfo("num-other-sentinels") != "2" {
				return false
			}
		}
		return true
	})
	return s
}

// sentinelInfo returns field of SENTINEL MASTER, as a Sentinel reports it.
func (r *Redis) sentinelInfo(field string) string {
	out, err := r.CLI("sentinel", "master", SentinelName)
	if err != nil {
		return ""
	}
	lines := strings.Split(out, "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		if lines[i] == field {
			return lines[i+1]
		}
	}
	return ""
}

// Addrs returns the Sentinels' addresses.
func (s *Sentinel) Addrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		addrs[i] = sn.Addr
	}
	return addrs
}

// Primary returns the data server that the first Sentinel names the
// primary.
func (s *Sentinel) Primary(t testing.TB) *Redis {
	t.Helper()
	out, err := s.Sentinels[0].CLI("sentinel", "get-master-addr-by-name", SentinelName)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.Join(strings.Fields(out), ":")
	for _, n := range s.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	t.Fatalf("testkit: Sentinels name %q, not one of the servers", addr)
	return nil
}

// Other returns the data server that is not n.
func (s *Sentinel) Other(n *Redis) *Redis {
	if s.Nodes[0] == n {
		return s.Nodes[1]
	}
	return s.Nodes[0]
}

// AwaitFailover waits until every Sentinel names the server other than
// old the primary and that server says it is one; then until old streams
// from it as its replica: the topology is whole again. Old, if it still
// says it is a primary, is told to replicate (what the Sentinels do at
// their next look at it, up to ten seconds later).
func (s *Sentinel) AwaitFailover(t testing.TB, old *Redis) *Redis {
	t.Helper()
	next := s.AwaitPromotion(t, old)
	WaitFor(t, "the old primary's link to "+next.Addr, func() bool {
		if old.Info("replication", "role") == "master" {
			_, _ = old.CLI("replicaof", "127.0.0.1", next.Port())
		}
		return next.OnlineReplicas() == 1
	})
	return next
}

// AwaitPromotion waits until every Sentinel names the server other than
// old the primary and that server says it is one, and returns it.
func (s *Sentinel) AwaitPromotion(t testing.TB, old *Redis) *Redis {
	t.Helper()
	next := s.Other(old)
	WaitFor(t, "the failover to "+next.Addr, func() bool {
		for _, sn := range s.Sentinels {
			out, err := sn.CLI("sentinel", "get-master-addr-by-name", SentinelName)
			if err != nil || strings.Join(strings.Fields(out), ":") != next.Addr {
				return false
			}
		}
		return next.Info("replication", "role") == "master"
	})
	return next
}

// Cluster is a Redis Cluster of three primaries with one replica each.
type Cluster struct {
	Nodes []*Redis
}

// clusterMaxPort keeps every node's bus port (its port + 10000) valid.
const clusterMaxPort = 55535

// StartCluster starts six cluster nodes, joins them with
// redis-cli --cluster create (one replica per primary) and returns once
// every node sees the cluster ok and every replica streams. It skips or
// fails t as StartRedis does.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	requireRedis(t)
	dir := t.TempDir()
	c := &Cluster{}
	for range 6 {
		c.Nodes = append(c.Nodes, startServer(t, clusterMaxPort, readyLine, func(port string) ([]string, error) {
			return append(serverArgs(dir, port), "--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes-"+port+".conf"),
				"--cluster-node-timeout", "3000"), nil
		}))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	if _, err := c.Nodes[0].CLI(append(args, "--cluster-replicas", "1", "--cluster-yes")...); err != nil {
		t.Fatal(err)
	}
	c.AwaitHealthy(t)
	WaitFor(t, "replicas that acknowledge", func() bool {
		for _, n := range c.Nodes {
			if n.Info("replication", "role") == "master" && !n.acked(1) {
				return false
			}
		}
		return true
	})
	return c
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// Replicas returns the nodes that are replicas now.
func (c *Cluster) Replicas() []*Redis {
	var rs []*Redis
	for _, n := range c.Nodes {
		if n.Info("replication", "role") == "slave" {
			rs = append(rs, n)
		}
	}
	return rs
}

// AwaitHealthy waits until every node sees the cluster ok, there are three
// primaries, and each streams to its replica.
func (c *Cluster) AwaitHealthy(t testing.TB) {
	t.Helper()
	WaitFor(t, "a healthy cluster", func() bool {
		primaries := 0
		for _, n := range c.Nodes {
			if n.Info("cluster", "cluster_enabled") != "1" {
				return false
			}
			out, err := n.CLI("cluster", "info")
			if err != nil || !strings.Contains(out, "cluster_state:ok") {
				return false
			}
			if n.Info("replication", "role") == "master" {
				if n.OnlineReplicas() != 1 {
					return false
				}
				primaries++
			}
		}
		return primaries == 3
	})
}

// Failover promotes every replica with CLUSTER FAILOVER and the given
// options ("" or "TAKEOVER", "FORCE"), all at once, and waits until each
// is a primary and the cluster is healthy. A replica whose manual
// failover timed out (Redis gives up after five seconds, silently) is
// told again.
func (c *Cluster) Failover(t testing.TB, options ...string) {
	t.Helper()
	rs := c.Replicas()
	asked := make([]time.Time, len(rs))
	WaitFor(t, "the replicas' promotion", func() bool {
		done := true
		for i, r := range rs {
			if r.Info("replication", "role") == "master" {
				continue
			}
			done = false
			if time.Since(asked[i]) > 6*time.Second {
				if _, err := r.CLI(append([]string{"cluster", "failover"}, options...)...); err != nil {
					t.Logf("testkit: cluster failover on %s: %v", r.Addr, err)
				}
				asked[i] = time.Now()
			}
		}
		return done
	})
	c.AwaitHealthy(t)
}

// WaitFor polls cond, every 20ms, until it holds; it fails t if it does
// not within 30 seconds. It is for conditions outside the test process (a
// server's state), not for goroutines.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(topologyWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("testkit: waited %v for %s", topologyWait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
