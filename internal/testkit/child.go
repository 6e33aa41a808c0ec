package testkit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// roleEnv names the role a child process plays.
const roleEnv = "LOCKSTEP_TESTKIT_ROLE"

// Role returns the role this process was started in by Command, Start or
// StartT, or "" if it is not such a child.
func Role() string { return os.Getenv(roleEnv) }

// Command returns a command that runs this executable again in role, with
// env (KEY=value pairs) added to this process's environment. In a test
// binary the child runs no tests: its TestMain must check Role before
// anything else.
func Command(role string, env ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("testkit: %w", err)
	}
	var args []string
	if testing.Testing() {
		args = append(args, "-test.run=^$")
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), roleEnv+"="+role), env...)
	return cmd, nil
}

// TestCommand returns a command that runs this test binary again, verbosely
// and running only the tests that match pattern (a -test.run pattern), with
// env added to this process's environment. Tests that must fail (to prove a
// checker can fail) run this way.
func TestCommand(pattern string, env ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("testkit: %w", err)
	}
	cmd := exec.Command(exe, "-test.run="+pattern, "-test.v", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), env...)
	return cmd, nil
}

// Child is a running child process that reads lines on its stdin and
// writes lines on its stdout; its stderr is kept for error messages.
// The methods of a Child are used by one goroutine at a time.
type Child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner
	stderr *syncBuffer
	desc   string // role and env, for error messages
	waited bool
	err    error // of cmd.Wait
}

// Start starts this executable again in role, with env added (see Command).
func Start(role string, env ...string) (*Child, error) {
	cmd, err := Command(role, env...)
	if err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, stderr: new(syncBuffer), desc: fmt.Sprint(role, env)}
	cmd.Stderr = c.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("testkit: %w", err)
	}
	c.stdout = bufio.NewScanner(out)
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("testkit: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testkit: start child %s: %w", role, err)
	}
	return c, nil
}

// StartT is Start for tests: it fails t if the child does not start, and
// kills the child (and waits for it) when t ends, if it is still running.
func StartT(t testing.TB, role string, env ...string) *Child {
	t.Helper()
	c, err := Start(role, env...)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !c.waited {
			_ = c.Kill()
			_ = c.Wait()
		}
	})
	return c
}

// ReadLine returns the child's next line of output. At the end of its
// output it returns io.ErrUnexpectedEOF, or the read error.
func (c *Child) ReadLine() (string, error) {
	if c.stdout.Scan() {
		return c.stdout.Text(), nil
	}
	if err := c.stdout.Err(); err != nil {
		return "", fmt.Errorf("testkit: read from child: %w", err)
	}
	return "", io.ErrUnexpectedEOF
}

// Line is ReadLine for tests: it fails t, with the child's stderr, if the
// child's output ended.
func (c *Child) Line(t testing.TB) string {
	t.Helper()
	line, err := c.ReadLine()
	require.NoError(t, err, "child ended early; stderr:\n%s", c.Stderr())
	return line
}

// Send writes line and a newline to the child's stdin.
func (c *Child) Send(line string) error {
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		return fmt.Errorf("testkit: write to child: %w", err)
	}
	return nil
}

// Kill kills the child at once (SIGKILL on Unix). Wait for it afterwards.
func (c *Child) Kill() error {
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("testkit: kill child: %w", err)
	}
	return nil
}

// Signal sends sig to the child (SIGSTOP and SIGCONT pause and resume it,
// on Unix).
func (c *Child) Signal(sig os.Signal) error {
	if err := c.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("testkit: signal child: %w", err)
	}
	return nil
}

// Wait closes the child's stdin, reads and drops the rest of its output
// and waits for it to end. It returns nil if the child exited with status
// 0, or an error (an *exec.ExitError inside) that includes its stderr.
// Calling Wait again returns the same result.
func (c *Child) Wait() error {
	if c.waited {
		return c.err
	}
	_ = c.stdin.Close()
	for c.stdout.Scan() {
	}
	c.waited = true
	if err := c.cmd.Wait(); err != nil {
		c.err = fmt.Errorf("testkit: child %s: %w; stderr:\n%s", c.desc, err, c.Stderr())
	}
	return c.err
}

// Stop is Wait, except that a child still running after grace is killed.
func (c *Child) Stop(grace time.Duration) error {
	done, killer := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(killer)
		select {
		case <-done:
		case <-time.After(grace):
			_ = c.cmd.Process.Kill()
		}
	}()
	err := c.Wait()
	close(done)
	<-killer
	return err
}

// Stderr returns what the child wrote to its stderr so far.
func (c *Child) Stderr() string { return c.stderr.String() }

// syncBuffer is a bytes.Buffer that the goroutine copying a child's stderr
// and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
