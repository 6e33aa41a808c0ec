package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
)

// redisWaitNames are the Redis systems that replicate: the price of WAIT,
// measured beside lockstep-redis in the write workloads.
var redisWaitNames = []string{"lockstep-redis-wait"}

// openReplicatedRedisStore returns the store of lockstep-redis-wait:
// lockstep-redis with WaitReplicas 1, every commit waiting until the
// replica has it. Each instance runs on a primary and a replica of its
// own, which it starts (without persistence) and the returned function
// stops. WAIT's timeout is a second, not 100ms: on a loaded machine a
// replica can go unscheduled for longer, and a failed write would end the
// run.
func openReplicatedRedisStore(dir string, logger *slog.Logger) (persist.Store, func() error, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, nil, fmt.Errorf("%w: no redis-server on PATH", errSkip)
	}
	primary, err := startServer(dir)
	if err != nil {
		return nil, nil, err
	}
	_, port, _ := net.SplitHostPort(primary.addr)
	replica, err := startServer(dir, "--replicaof", "127.0.0.1", port)
	if err != nil {
		primary.stop()
		return nil, nil, err
	}
	client := redis.NewClient(&redis.Options{Addr: primary.addr})
	closeAll := func() error {
		err := client.Close()
		replica.stop()
		primary.stop()
		return err
	}
	if err := awaitReplica(client); err != nil {
		return nil, nil, errors.Join(err, closeAll())
	}
	store, err := redisstore.New(client, redisstore.Config{Prefix: redisPrefix(dir), Logger: logger, WaitReplicas: 1, WaitTimeout: time.Second})
	if err != nil {
		return nil, nil, errors.Join(err, closeAll())
	}
	return store, closeAll, nil
}

// awaitReplica waits, at most 10 seconds, until a write to the primary
// is acknowledged by its replica.
func awaitReplica(c *redis.Client) error {
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := c.Set(ctx, "bench:replicated", "1", time.Second).Err(); err != nil {
			continue
		}
		if n, err := c.Do(ctx, "wait", 1, 100).Int64(); err == nil && n == 1 {
			return nil
		}
	}
	return errors.New("bench: the replica did not acknowledge within 10s")
}

// server is a private redis-server.
type server struct {
	addr    string
	cmd     *exec.Cmd
	drained chan struct{} // closed when its output is drained
}

// startServer starts a redis-server without persistence on a free loopback
// port, working in a directory of its own under dir, with args added.
func startServer(dir string, args ...string) (*server, error) {
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := l.Addr().String()
		_ = l.Close()
		_, port, _ := net.SplitHostPort(addr)
		wd, err := os.MkdirTemp(dir, "redis-")
		if err != nil {
			return nil, err
		}
		cmd := exec.Command("redis-server", append([]string{"--bind", "127.0.0.1", "--port", port, "--save", "",
			"--appendonly", "no", "--daemonize", "no", "--protected-mode", "no", "--logfile", "", "--dir", wd,
			"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}, args...)...)
		out, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(out)
		ready := false
		for !ready && sc.Scan() {
			ready = strings.Contains(sc.Text(), "Ready to accept connections")
		}
		if !ready {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			lastErr = fmt.Errorf("bench: redis-server on %s did not start", addr)
			continue
		}
		s := &server{addr: addr, cmd: cmd, drained: make(chan struct{})}
		go func() { // owned by stop, which waits for it
			defer close(s.drained)
			_, _ = io.Copy(io.Discard, out)
		}()
		return s, nil
	}
	return nil, lastErr
}

// stop kills the server and waits for it.
func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	<-s.drained
	_ = s.cmd.Wait()
}
