package persist

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// watch is the watcher goroutine: it turns directory events into hand-over
// requests to holders of this Dir and wake-ups of its waiters. It ends when
// Close closes the watcher.
func (d *Dir) watch() {
	defer d.wg.Done()
	for {
		select {
		case ev, ok := <-d.watcher.Events:
			if !ok {
				return
			}
			d.handle(ev.Name, ev.Op)
		case err, ok := <-d.watcher.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				d.rescan()
				continue
			}
			d.log.Warn("persist: directory watcher", "dir", d.dir, "err", err)
		case <-d.done:
			return
		}
	}
}

// handle reacts to one event on path.
func (d *Dir) handle(path string, op fsnotify.Op) {
	key, kind := parseName(filepath.Base(path))
	switch kind {
	case kindWant:
		if op.Has(fsnotify.Create) || op.Has(fsnotify.Write) || op.Has(fsnotify.Chmod) {
			d.request(key, path)
		}
		if op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename) {
			// A holder released and removed the request.
			d.wake(key)
		}
	case kindLock:
		if op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename) {
			d.wake(key)
		}
	}
}

// request passes a hand-over request for key to its holder in this Dir, if
// there is one, and remembers the request file so that release removes it.
func (d *Dir) request(key, path string) {
	d.mu.Lock()
	h := d.holders[key]
	var wanted func()
	if h != nil {
		if h.wants == nil {
			h.wants = make(map[string]struct{})
		}
		h.wants[path] = struct{}{}
		wanted = h.wanted
	}
	d.mu.Unlock()
	if wanted != nil {
		wanted()
	}
}

// rescan recovers from lost events: it passes every pending hand-over
// request to its holder and wakes every waiter of this Dir.
func (d *Dir) rescan() {
	d.log.Debug("persist: watcher overflow, rescanning", "dir", d.dir)
	d.wakeAll()
	f, err := os.Open(d.dir)
	if err != nil {
		d.log.Warn("persist: rescan after watcher overflow", "dir", d.dir, "err", err)
		return
	}
	names, err := f.Readdirnames(-1)
	_ = f.Close()
	if err != nil {
		d.log.Warn("persist: rescan after watcher overflow", "dir", d.dir, "err", err)
	}
	for _, name := range names {
		if key, kind := parseName(name); kind == kindWant {
			d.request(key, d.path(name))
		}
	}
}
