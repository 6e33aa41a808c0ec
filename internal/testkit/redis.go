package testkit

import (
	"bufio"
	"context"
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
	Addr   string   // host:port
	args   []string // redis-server's arguments, port included
	ready  string   // the line of its log that says it serves
	cmd    *exec.Cmd
	output chan struct{} // closed when the server's output is drained
}

// StartRedis starts a private redis-server, stopped when t ends. Without
// redis-server on PATH it skips t, or fails it if RequireRedisEnv is "1".
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	requireRedis(t)
	dir := t.TempDir()
	return startServer(t, 0, readyLine, func(port string) ([]string, error) { return serverArgs(dir, port), nil })
}

// readyLine is what redis-server logs once it accepts connections.
const readyLine = "Ready to accept connections"

// requireRedis skips t, or fails it if RequireRedisEnv is "1", when
// redis-server is not on PATH.
func requireRedis(t testing.TB) {
	t.Helper()
	if !HaveRedis() {
		if os.Getenv(RequireRedisEnv) == "1" {
			t.Fatal("redis-server not found on PATH and " + RequireRedisEnv + "=1")
		}
		t.Skip("no redis-server on PATH")
	}
}

// serverArgs are the arguments of a server without persistence on port,
// which, as a primary, streams its data to new replicas at once. Its
// working directory is one of its own under dir: a replica writes the data
// it receives there, and a file there would be loaded at start.
func serverArgs(dir, port string) []string {
	dir = filepath.Join(dir, port)
	_ = os.MkdirAll(dir, 0o700) // an error shows when the server starts
	return []string{"--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
		"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
		"--dir", dir, "--logfile", "", "--loglevel", "notice"}
}

// startServer starts redis-server with the arguments that args returns
// for a free loopback port (at most maxPort, unless 0; with maxPort, the
// port 10000 above it, a Cluster's bus port, is free too), stopped when t
// ends. It returns once the server logs ready.
func startServer(t testing.TB, maxPort int, ready string, args func(port string) ([]string, error)) *Redis {
	t.Helper()
	var err error
	for range 50 { // a free port may be taken before redis-server binds it
		var port int
		if port, err = freePort(maxPort); err != nil {
			continue
		}
		p := strconv.Itoa(port)
		r := &Redis{Addr: net.JoinHostPort("127.0.0.1", p), ready: ready}
		if r.args, err = args(p); err != nil {
			t.Fatal(err)
		}
		if err = r.start(); err == nil {
			t.Cleanup(r.Stop)
			return r
		}
	}
	t.Fatalf("testkit: start redis-server: %v", err)
	return nil
}

// freePort returns a loopback port that was free a moment ago, at most
// maxPort (with its bus port free too) unless maxPort is 0.
func freePort(maxPort int) (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if maxPort == 0 {
		return port, nil
	}
	if port > maxPort {
		return 0, fmt.Errorf("port %d above %d", port, maxPort)
	}
	bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
	if err != nil {
		return 0, err
	}
	_ = bus.Close()
	return port, nil
}

// start runs redis-server with r.args and extra, and returns once it
// logs r.ready.
func (r *Redis) start(extra ...string) error {
	cmd := exec.Command("redis-server", append(r.args[:len(r.args):len(r.args)], extra...)...)
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
		if strings.Contains(line, r.ready) {
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

// Restart stops the server and starts a new, empty one on the same port,
// with its arguments and extra (for example "--replicaof", host, port).
func (r *Redis) Restart(t testing.TB, extra ...string) {
	t.Helper()
	r.Stop()
	if err := r.start(extra...); err != nil {
		t.Fatal(err)
	}
}

// Signal sends sig to the running server (SIGSTOP and SIGCONT pause and
// resume it).
func (r *Redis) Signal(sig os.Signal) error {
	if r.cmd == nil {
		return fmt.Errorf("testkit: signal %s: not running", r.Addr)
	}
	return r.cmd.Process.Signal(sig)
}

// Port returns the server's port.
func (r *Redis) Port() string {
	_, port, _ := net.SplitHostPort(r.Addr)
	return port
}

// cliTimeout bounds each redis-cli run (a paused server would hang it).
const cliTimeout = 10 * time.Second

// CLI runs redis-cli with args against the server and returns its output
// without the trailing newline; a Redis error is an error, and so is a
// server that does not answer within 10 seconds.
func (r *Redis) CLI(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", append([]string{"-e", "-h", "127.0.0.1", "-p", r.Port()}, args...)...).CombinedOutput()
	s := strings.TrimRight(string(out), "\n")
	if err != nil {
		return s, fmt.Errorf("testkit: redis-cli -p %s %s: %w: %s", r.Port(), strings.Join(args, " "), err, s)
	}
	return s, nil
}

// Info returns the value of field (for example "role") in the INFO
// section of the server, or "" if it has none.
func (r *Redis) Info(section, field string) string {
	out, err := r.CLI("info", section)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// OnlineReplicas returns how many replicas are connected to the server
// and streaming (state=online), as INFO replication reports them.
func (r *Redis) OnlineReplicas() int {
	out, err := r.CLI("info", "replication")
	if err != nil {
		return 0
	}
	return strings.Count(out, "state=online")
}
