//go:build !unix

package testkit

import (
	"errors"
	"os/exec"
)

// command returns a command that runs name with args in the server's
// directory.
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = p.dir
	return cmd
}

// pause and resume need Unix signals.
func (s *daemon) pause() error  { return errors.ErrUnsupported }
func (s *daemon) resume() error { return errors.ErrUnsupported }

// kill kills the server.
func (s *daemon) kill() { _ = s.cmd.Process.Kill() }

// stop kills the server and waits for it to end.
func (s *daemon) stop(bool) {
	s.kill()
	<-s.output
	_ = s.cmd.Wait()
}
