//go:build linux

package filestore

import (
	"io/fs"
	"os"
	"syscall"
)

// openFile opens an existing file of the store with open(2) and wraps the
// descriptor in an *os.File. os.OpenFile would also make the descriptor
// non-blocking and try to add it to the runtime's poller, which refuses a
// regular file, and then make it blocking again: four fcntl(2) calls and an
// epoll_ctl(2) that fails, per commit, about 1 µs. A blocking descriptor
// given to os.NewFile costs one fcntl, and reads and writes are the same
// system calls.
func openFile(name string, flag int) (storeFile, error) {
	for {
		fd, err := syscall.Open(name, flag|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return osFile{os.NewFile(uintptr(fd), name)}, nil
	}
}
