//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// errWouldBlock is what tryFlock returns when another holder has the lock.
var errWouldBlock = unix.EWOULDBLOCK

// tryFlock tries flock(LOCK_EX|LOCK_NB) on f.
func tryFlock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}

// unlockFlock releases f's flock.
func unlockFlock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// cpuTime returns the CPU time (user + system) this process has used.
func cpuTime() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
