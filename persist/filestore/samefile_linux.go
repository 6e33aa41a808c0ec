//go:build linux

package filestore

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sameFile reports whether the open file f is the file fi describes.
//
// It asks statx(2) for the inode number only. A full fstat of the record
// file between two commits made the next fdatasync write one more block on
// ext4 (three device writes per synced commit instead of two, measured by
// the bench's BenchmarkCommitSyscalls), where statx with STATX_INO does not.
func sameFile(f *os.File, fi fs.FileInfo) (bool, error) {
	want, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		got, err := f.Stat()
		return err == nil && os.SameFile(got, fi), err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var stx unix.Statx_t
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.Statx(int(fd), "", unix.AT_EMPTY_PATH|unix.AT_STATX_SYNC_AS_STAT, unix.STATX_INO, &stx)
	}); err != nil {
		return false, err
	}
	if serr != nil {
		return false, &fs.PathError{Op: "statx", Path: f.Name(), Err: serr}
	}
	return stx.Ino == want.Ino && unix.Mkdev(stx.Dev_major, stx.Dev_minor) == uint64(want.Dev), nil
}
