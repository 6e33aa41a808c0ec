//go:build linux

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync is fdatasync(2) of f, as the file store's OnCommitSync commit does.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
