//go:build unix

package engine

import (
	"errors"
	"syscall"
)

// fileLimit returns the soft limit on open file descriptors
// (RLIMIT_NOFILE), and false if it cannot be read or is unlimited.
func fileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == ^uint64(0) {
		return 0, false
	}
	return rl.Cur, true
}

// outOfFiles reports whether err says the process (EMFILE) or the system
// (ENFILE) has no file descriptor left.
func outOfFiles(err error) bool {
	return err != nil && (errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE))
}
