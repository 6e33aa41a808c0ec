//go:build unix

package testkit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// command returns a command that runs as the server's user, in its own
// process group (so that Pause stops the server's every process).
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if p.cred != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: p.cred.uid, Gid: p.cred.gid}
	}
	cmd.Dir = p.dir
	return cmd
}

// signal sends sig to every process of the server's process group.
func (s *daemon) signal(sig syscall.Signal) error {
	if s == nil {
		return errors.New("testkit: server not running")
	}
	if err := syscall.Kill(-s.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("testkit: signal server: %w", err)
	}
	return nil
}

// signalTree sends sig to the server's process group and to every
// descendant of its first process (found in /proc).
func (s *daemon) signalTree(sig syscall.Signal) error {
	if err := s.signal(sig); err != nil {
		return err
	}
	for _, pid := range descendants(s.cmd.Process.Pid) {
		_ = syscall.Kill(pid, sig)
	}
	return nil
}

// descendants returns the processes below pid, as /proc shows them (none
// without /proc).
func descendants(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := make(map[int][]int)
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if i < 0 || len(f) < 2 {
			continue
		}
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
		parent, _ := strconv.Atoi(f[1])
		children[parent] = append(children[parent], child)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, children[p]...)
		queue = append(queue, children[p]...)
	}
	return out
}

// pause stops the server's every process; resume continues them.
func (s *daemon) pause() error  { return s.signalTree(syscall.SIGSTOP) }
func (s *daemon) resume() error { return s.signalTree(syscall.SIGCONT) }

// kill kills the server's process group.
func (s *daemon) kill() { _ = s.signal(syscall.SIGKILL) }

// stop shuts the server down (SIGINT to its process group: PostgreSQL's
// fast shutdown), or kills it, and waits for it to end; a server still
// running after serverStart is killed.
func (s *daemon) stop(kill bool) {
	sig := syscall.SIGINT
	if kill {
		sig = syscall.SIGKILL
	}
	_ = s.signal(sig)
	done := make(chan struct{})
	go func() { // ends when the server does; stop waits for it
		defer close(done)
		<-s.output
		_ = s.cmd.Wait()
	}()
	select {
	case <-done:
	case <-time.After(serverStart):
		_ = s.signal(syscall.SIGKILL)
		<-done
	}
	// The server's children (postgres backends) may outlive the
	// postmaster by a moment: end the group.
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
}
