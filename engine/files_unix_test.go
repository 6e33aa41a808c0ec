//go:build unix

package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
)

// fdLimit is the soft RLIMIT_NOFILE of the "files" child.
const fdLimit = 64

// fdSessions is how many sessions the "files" child creates: several times
// what its descriptors can hold open at once.
const fdSessions = 300

// Guarantee 30 (docs/architecture.md): resident sessions stay within the
// descriptor budget. A child process lowers RLIMIT_NOFILE to 64 and (1)
// with the default MaxResident, derived from that limit, creates and writes
// 300 sessions and still accepts a TCP connection; (2) with a MaxResident
// far too high, writes them all again: running out of descriptors
// passivates idle sessions and retries, and no write is lost; (3) with
// every descriptor taken, Create fails with an error that says what to
// raise, and works again once descriptors are free. Before, the default was
// 10000 whatever the limit, and EMFILE failed the call.
func TestFileDescriptorBudget(t *testing.T) {
	dir := t.TempDir()
	c := testkit.StartT(t, "files", "LOCKSTEP_DIR="+dir)
	watchdog := time.AfterFunc(2*time.Minute, func() { c.Kill() }) // a hung child fails the test, not the run
	defer watchdog.Stop()
	lines := map[string]string{}
	for {
		line, err := c.ReadLine()
		if err != nil {
			break
		}
		k, v, _ := strings.Cut(line, " ")
		lines[k] = v
	}
	require.NoError(t, c.Wait())
	t.Logf("child: %v", lines)
	assert.Equal(t, "24", lines["maxresident"], "(64 - 64/4) / 2")
	assert.Equal(t, "0", lines["failed1"], "writes that failed with the default MaxResident")
	assert.Equal(t, "ok", lines["accept"])
	assert.Equal(t, "0", lines["failed2"], "writes that failed with MaxResident 1000")
	assert.NotEqual(t, "0", lines["outoffiles2"], "the second phase ran out of descriptors and recovered")
	assert.Contains(t, lines["exhausted"], "ulimit -n")
	assert.Contains(t, lines["exhausted"], "MaxResident")
	assert.Equal(t, "true", lines["emfile"], "the error matches syscall.EMFILE")
	assert.Equal(t, "ok", lines["recovered"])

	// Every write the child acknowledged is on disk.
	ids := strings.Fields(lines["ids"])
	require.Len(t, ids, fdSessions)
	e := openDir(t, dir, engine.Config{SweepInterval: -1})
	for i, id := range ids {
		assert.Equal(t, 1000+i, get(t, e, id, "n"), "session %d", i)
	}
}

// runPlatformChild runs the child roles that need Unix.
func runPlatformChild(role, dir string) (int, bool) {
	if role != "files" {
		return 0, false
	}
	if err := filesChild(dir); err != nil {
		fmt.Fprintln(os.Stderr, "files:", err)
		return 1, true
	}
	return 0, true
}

// filesChild is the "files" child of TestFileDescriptorBudget. It prints
// "name value" lines.
func filesChild(dir string) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	rl.Cur = fdLimit
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	ctx := context.Background()
	write := func(e *engine.Engine, id string, n int) error {
		return e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.Set("n", n)
			return nil
		})
	}

	// 1. The default MaxResident.
	e, err := engine.Open(dir, engine.Config{SweepInterval: -1})
	if err != nil {
		return err
	}
	fmt.Println("maxresident", e.Config().MaxResident)
	ids := make([]string, fdSessions)
	failed := 0
	for i := range ids {
		if ids[i], err = e.Create(ctx); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		if err := write(e, ids[i], i); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			failed++
		}
	}
	fmt.Println("failed1", failed)
	if err := accept(); err != nil {
		return err
	}
	fmt.Println("accept ok")
	if err := e.Close(); err != nil {
		return err
	}

	// 2. MaxResident far above what the descriptors allow.
	e, err = engine.Open(dir, engine.Config{SweepInterval: -1, MaxResident: 1000})
	if err != nil {
		return err
	}
	failed = 0
	for i, id := range ids {
		if err := write(e, id, 1000+i); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			failed++
		}
	}
	fmt.Println("failed2", failed)
	fmt.Println("outoffiles2", e.Stats().OutOfFiles)
	if err := e.Close(); err != nil {
		return err
	}

	// 3. Every descriptor taken.
	e, err = engine.Open(dir, engine.Config{SweepInterval: -1})
	if err != nil {
		return err
	}
	defer e.Close()
	var hog []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		hog = append(hog, f)
	}
	_, err = e.Create(ctx)
	for _, f := range hog {
		f.Close()
	}
	if err == nil {
		return errors.New("Create succeeded without a descriptor left")
	}
	fmt.Println("exhausted", strconv.Quote(err.Error()))
	fmt.Println("emfile", errors.Is(err, syscall.EMFILE))
	if _, err := e.Create(ctx); err != nil {
		return fmt.Errorf("create once descriptors are free: %w", err)
	}
	fmt.Println("recovered ok")
	fmt.Println("ids", strings.Join(ids, " "))
	return nil
}

// accept listens on a loopback port, connects to it and accepts the
// connection: what a server must still be able to do.
func accept() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	return s.Close()
}
