//go:build linux

package filestore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// inotifyMask is what the Store's watch asks inotify for: entries created,
// moved in or out, removed, and their attributes changed (a waiter's
// refresh of its hand-over request), and the directory itself removed or
// moved. Not IN_MODIFY: every commit writes into a record file of the
// directory, and a watch that woke on each write cost about 6 µs of CPU per
// commit (a read of the inotify descriptor, two goroutine wake-ups) for
// events the Store ignores.
const inotifyMask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
	unix.IN_DELETE | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF |
	unix.IN_ONLYDIR

// inotifyWatch is a watch on one directory through inotify(7), with the
// mask above. Its goroutine reads the inotify descriptor and sends the
// events, named like fsnotify's, until Close.
type inotifyWatch struct {
	dir  string
	f    *os.File // the inotify descriptor, non-blocking: Close ends a Read
	evs  chan fsnotify.Event
	errs chan error
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

// newDirWatch starts watching dir.
func newDirWatch(dir string) (dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, inotifyMask); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("inotify_add_watch %s: %w", dir, err)
	}
	w := &inotifyWatch{
		dir:  filepath.Clean(dir),
		f:    os.NewFile(uintptr(fd), "inotify"),
		evs:  make(chan fsnotify.Event),
		errs: make(chan error),
		done: make(chan struct{}),
	}
	w.wg.Add(1)
	go w.read()
	return w, nil
}

func (w *inotifyWatch) events() <-chan fsnotify.Event { return w.evs }
func (w *inotifyWatch) errors() <-chan error          { return w.errs }

// Close stops the goroutine, waits for it, and closes the descriptor.
func (w *inotifyWatch) Close() error {
	w.once.Do(func() {
		close(w.done)
		w.err = w.f.Close()
		w.wg.Wait()
	})
	return w.err
}

// read is the watch's goroutine.
func (w *inotifyWatch) read() {
	defer w.wg.Done()
	var buf [64 * 1024]byte
	for {
		n, err := w.f.Read(buf[:])
		switch {
		case errors.Is(err, os.ErrClosed):
			return
		case err == nil && n < unix.SizeofInotifyEvent:
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			if !w.sendErr(fmt.Errorf("read inotify: %w", err)) {
				return
			}
			continue
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameAt := off + unix.SizeofInotifyEvent
			off = nameAt + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				if !w.sendErr(fsnotify.ErrEventOverflow) {
					return
				}
				continue
			}
			e := fsnotify.Event{Name: w.dir}
			if ev.Len > 0 && off <= n {
				e.Name = filepath.Join(w.dir, cString(buf[nameAt:off]))
			}
			e.Op = inotifyOp(ev.Mask)
			if e.Op == 0 {
				continue
			}
			select {
			case w.evs <- e:
			case <-w.done:
				return
			}
		}
	}
}

// sendErr sends err, or reports false when the watch is closing.
func (w *inotifyWatch) sendErr(err error) bool {
	select {
	case w.errs <- err:
		return true
	case <-w.done:
		return false
	}
}

// inotifyOp translates an inotify mask to fsnotify's operations. The end of
// the watch (IN_IGNORED: the directory was removed, or its file system
// unmounted) is reported as a removal of the directory, which makes the
// monitor drop the watch and poll.
func inotifyOp(mask uint32) fsnotify.Op {
	var op fsnotify.Op
	if mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
		op |= fsnotify.Create
	}
	if mask&(unix.IN_DELETE|unix.IN_DELETE_SELF|unix.IN_IGNORED|unix.IN_UNMOUNT) != 0 {
		op |= fsnotify.Remove
	}
	if mask&(unix.IN_MOVED_FROM|unix.IN_MOVE_SELF) != 0 {
		op |= fsnotify.Rename
	}
	if mask&unix.IN_ATTRIB != 0 {
		op |= fsnotify.Chmod
	}
	return op
}

// cString returns b up to its first NUL: inotify pads names with NULs.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
