package testkit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireRedisEnv, set to "1", makes StartRedis fail the test, instead of
// skipping it, when no redis-server can be started (CI sets it).
const RequireRedisEnv = "LOCKSTEP_REQUIRE_REDIS"

// HaveRedis reports whether redis-server is on PATH.
func HaveRedis() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// Redis is a private redis-server on a free loopback port, without
// persistence. Its methods are used by one goroutine at a time.
type Redis struct {
	Addr   string // host:port
	cmd    *exec.Cmd
	output chan struct{} // closed when the server's output is drained
}

// StartRedis starts a private redis-server, stopped when t ends. Without
// redis-server on PATH it skips t, or fails it if RequireRedisEnv is "1".
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if !HaveRedis() {
		if os.Getenv(RequireRedisEnv) == "1" {
			t.Fatal("redis-server not found on PATH and " + RequireRedisEnv + "=1")
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
		_ = l.Close()
		r := &Redis{Addr: addr}
		if err = r.start(); err == nil {
			t.Cleanup(r.Stop)
			return r
		}
	}
	t.Fatalf("testkit: start redis-server: %v", err)
	return nil
}

// start runs redis-server on r.Addr and returns once it accepts
// connections.
func (r *Redis) start() error {
	_, port, _ := net.SplitHostPort(r.Addr)
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
			r.cmd = cmd
			r.output = make(chan struct{})
			go func() { // owned by Stop, which waits for it
				defer close(r.output)
				_, _ = io.Copy(io.Discard, out)
			}()
			return nil
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return fmt.Errorf("redis-server on %s did not start:\n%s", r.Addr, log.String())
}

// Stop kills the server (SIGKILL: nothing is saved) and waits for it.
// Stopping a stopped server does nothing.
func (r *Redis) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.output
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Restart stops the server and starts a new, empty one on the same port.
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	r.Stop()
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
}
