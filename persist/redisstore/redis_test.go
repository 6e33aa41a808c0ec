package redisstore_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
)

// requireRedisEnv makes the tests fail, instead of skip, when no
// redis-server can be started (CI sets it).
const requireRedisEnv = "LOCKSTEP_REQUIRE_REDIS"

// haveRedis reports whether redis-server is on PATH.
func haveRedis() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// server is a private redis-server on a loopback port, without
// persistence, stopped when the test ends.
type server struct {
	Addr   string
	cmd    *exec.Cmd
	output chan struct{} // closed when the server's output is drained
}

// startRedis starts a private redis-server, or skips the test when there is
// none (fails when LOCKSTEP_REQUIRE_REDIS=1).
func startRedis(t testing.TB) *server {
	t.Helper()
	if !haveRedis() {
		if os.Getenv(requireRedisEnv) == "1" {
			t.Fatal("redis-server not found on PATH and " + requireRedisEnv + "=1")
		}
		t.Skip("no redis-server on PATH")
	}
	var err error
	for range 5 { // a free port may be taken before redis-server binds it
		var l net.Listener
		l, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		s := &server{Addr: addr}
		if err = s.start(); err == nil {
			t.Cleanup(s.stop)
			return s
		}
	}
	t.Fatalf("start redis-server: %v", err)
	return nil
}

// start runs redis-server on s.Addr and returns once it accepts connections.
func (s *server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
		"--dir", os.TempDir(), "--logfile", "", "--loglevel", "notice")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	var log strings.Builder
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		if strings.Contains(line, "Ready to accept connections") {
			s.cmd = cmd
			s.output = make(chan struct{})
			go func() { // owned by stop, which waits for it
				defer close(s.output)
				_, _ = io.Copy(io.Discard, out)
			}()
			return nil
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return fmt.Errorf("redis-server on %s did not start:\n%s", s.Addr, log.String())
}

// stop kills the server and waits for it.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.output
	_ = s.cmd.Wait()
	s.cmd = nil
}

// restart stops the server and starts a new, empty one on the same port.
func (s *server) restart(t testing.TB) {
	t.Helper()
	s.stop()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

// client returns a client of s, closed when the test ends (after the
// stores made with it, whose cleanups run first).
func (s *server) client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// store returns a Store over a new client of s, closed when the test ends.
func (s *server) store(t testing.TB, cfg redisstore.Config) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(s.client(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// count returns the number of keys on s.
func (s *server) count(t testing.TB, c *redis.Client) int {
	t.Helper()
	n, err := c.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
