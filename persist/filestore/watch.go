package filestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// pollEvery is the monitor's cadence while it has no working watch or a key
// is held: it checks the directory's identity, retries the watch, and, with
// no working watch and keys held, reads the directory for hand-over
// requests. A holder therefore notices a request within pollEvery even
// without notifications; a Store that holds nothing and watches never ticks.
const pollEvery = 50 * time.Millisecond

// racyWindow is how recent a directory's modification time must be for the
// poller to list it again although the time did not move: file system
// clocks are coarse, so a change within the same clock tick as the last
// listing leaves the time as it was.
const racyWindow = time.Second

// dirWatch is a working watch on the Store's directory: events of its
// entries (named by their paths) and of the directory itself (named by its
// path), until Close. On Linux it is inotify without IN_MODIFY (see
// inotifyMask), elsewhere fsnotify.
type dirWatch interface {
	events() <-chan fsnotify.Event
	errors() <-chan error
	Close() error
}

// monitor is the state of a Store's monitor goroutine, which owns the
// directory watcher. Only that goroutine (and Open, before starting it)
// touches it.
type monitor struct {
	d        *Store
	w        dirWatch    // nil: no working watch
	ident    os.FileInfo // the directory last seen on the path; nil if it was missing
	degraded bool        // a Warn was logged and no Info since

	listedMod time.Time // the directory's modification time before the last listing
	listedGen uint64    // Store.holdGen before the last listing
}

// run is the monitor goroutine: it turns directory events into hand-over
// requests to holders of this Store and wake-ups of its waiters, and polls
// while it has no working watch or holds a key. It ends when Close closes
// done.
func (m *monitor) run() {
	d := m.d
	defer d.wg.Done()
	defer func() {
		if m.w != nil {
			d.closeErr = m.w.Close()
		}
	}()
	timer := time.NewTimer(pollEvery)
	armed := true
	for {
		if !armed && (m.w == nil || d.holding()) {
			timer.Reset(pollEvery)
			armed = true
		}
		var tick <-chan time.Time
		if armed {
			tick = timer.C
		}
		var events <-chan fsnotify.Event
		var errs <-chan error
		if m.w != nil {
			events, errs = m.w.events(), m.w.errors()
		}
		select {
		case ev, ok := <-events:
			if !ok {
				m.lose("watcher ended")
				continue
			}
			if d.watched != nil {
				d.watched(ev.Name)
			}
			if filepath.Clean(ev.Name) == filepath.Clean(d.dir) {
				if ev.Op.Has(fsnotify.Remove) || ev.Op.Has(fsnotify.Rename) {
					m.lose("directory removed or moved")
					m.poll()
				}
				continue
			}
			d.handle(ev.Name, ev.Op)
		case err, ok := <-errs:
			if !ok {
				m.lose("watcher ended")
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				d.log.Debug("filestore: watcher overflow, rescanning", "dir", d.dir)
				d.rescan()
				continue
			}
			d.log.Warn("filestore: directory watcher", "dir", d.dir, "err", err)
		case <-tick:
			armed = false
			m.poll()
		case <-d.kick:
			// A key is held now: the loop arms the timer.
		case <-d.done:
			return
		}
	}
}

// startWatch starts a watcher on the directory, checking that the directory
// it watches is the one on the path before and after.
func (m *monitor) startWatch() error {
	d := m.d
	before, err := os.Stat(d.dir)
	if err != nil {
		return err
	}
	w, err := newDirWatch(d.dir)
	if err != nil {
		return err
	}
	after, err := os.Stat(d.dir)
	if err == nil && !os.SameFile(before, after) {
		err = errors.New("directory replaced while adding the watch")
	}
	if err != nil {
		_ = w.Close()
		return err
	}
	m.w = w
	d.watching.Store(true)
	return nil
}

// lose drops the watcher, which no longer reports what happens on the
// directory's path, and logs once that the Store runs degraded.
func (m *monitor) lose(why string) {
	if m.w != nil {
		if err := m.w.Close(); err != nil {
			m.d.log.Debug("filestore: close lost watcher", "dir", m.d.dir, "err", err)
		}
		m.w = nil
		m.d.watching.Store(false)
	}
	if !m.degraded {
		m.degraded = true
		m.d.log.Warn("filestore: directory watch lost, hand-over falls back to polling", "dir", m.d.dir, "reason", why)
	}
}

// poll checks that the directory on the path is still the one the Store
// locked in and watches, watches it again if it can, and without a working
// watch passes the hand-over requests of held keys to their holders.
func (m *monitor) poll() {
	d := m.d
	listed := false
	if d.polled != nil {
		defer func() { d.polled(listed) }()
	}
	cur, err := os.Stat(d.dir)
	switch {
	case err == nil && (m.ident == nil || !os.SameFile(cur, m.ident)),
		errors.Is(err, os.ErrNotExist) && m.ident != nil:
		// The directory was removed or replaced: the lock files held in
		// the old one are no longer on the path, and the old watch sees
		// nothing of the new one.
		if err != nil {
			cur = nil
		}
		old := m.ident
		m.ident = cur
		if m.w != nil {
			m.lose("directory replaced")
		}
		if old != nil {
			d.wantAll()
		}
	}
	if m.w == nil && m.ident != nil && !d.noWatch {
		if err := m.startWatch(); err == nil {
			m.degraded = false
			d.log.Info("filestore: watching the directory again", "dir", d.dir)
			d.rescan()
			return
		}
		// Still degraded: already logged.
	}
	if m.w == nil && d.holding() && m.mayHaveNewWants(cur) {
		d.pollWants()
		listed = true
	}
}

// mayHaveNewWants reports whether listing the directory cur could find a
// hand-over request for a held key that the last listing did not: the
// directory changed since (or so recently that a change in the same tick
// of the file system's clock would not show), or a key was taken since.
// A listing costs about 1 ms per 1000 entries (ext4); a quiet directory is
// not listed at all.
func (m *monitor) mayHaveNewWants(cur os.FileInfo) bool {
	if cur == nil {
		return false // nothing to list
	}
	mod, gen := cur.ModTime(), m.d.holdGen.Load()
	may := !mod.Equal(m.listedMod) || gen != m.listedGen || time.Since(mod) < racyWindow
	m.listedMod, m.listedGen = mod, gen
	return may
}

// holding reports whether a key is locked through this Store.
func (d *Store) holding() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.holders) > 0
}

// wantAll asks every holder of this Store to release: their locks were taken
// in a directory that is no longer on the path.
func (d *Store) wantAll() {
	d.mu.Lock()
	var calls []func()
	for _, h := range d.holders {
		if h.wanted != nil {
			calls = append(calls, h.wanted)
		}
	}
	d.mu.Unlock()
	for _, f := range calls {
		f()
	}
}

// pollWants reads the directory and passes each new hand-over request for
// a held key to its holder.
func (d *Store) pollWants() {
	names, err := d.names()
	if err != nil {
		d.log.Debug("filestore: poll for hand-over requests", "dir", d.dir, "err", err)
		return
	}
	for _, name := range names {
		if key, kind := parseName(name); kind == kindWant {
			d.request(key, d.path(name), false)
		}
	}
}

// names lists the directory.
func (d *Store) names() ([]string, error) {
	f, err := os.Open(d.dir)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	_ = f.Close()
	if err != nil {
		return names, fmt.Errorf("filestore: list %s: %w", d.dir, err)
	}
	return names, nil
}

// handle reacts to one event on path.
func (d *Store) handle(path string, op fsnotify.Op) {
	key, kind := parseName(filepath.Base(path))
	switch kind {
	case kindWant:
		if op.Has(fsnotify.Create) || op.Has(fsnotify.Write) || op.Has(fsnotify.Chmod) {
			d.request(key, path, true)
		}
		if op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename) {
			// A holder released and removed the request.
			d.waiters.Wake(key)
		}
	case kindLock:
		if op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename) {
			d.waiters.Wake(key)
		}
	}
}

// request passes a hand-over request for key to its holder in this Store, if
// there is one, and remembers the request file so that release removes it.
// Without again, a request file the holder already saw is not passed on.
func (d *Store) request(key, path string, again bool) {
	d.mu.Lock()
	h := d.holders[key]
	var wanted func()
	if h != nil {
		if h.wants == nil {
			h.wants = make(map[string]struct{})
		}
		if _, seen := h.wants[path]; !seen || again {
			h.wants[path] = struct{}{}
			wanted = h.wanted
		}
	}
	d.mu.Unlock()
	if wanted != nil {
		wanted()
	}
}

// rescan recovers from lost events: it passes every pending hand-over
// request to its holder and wakes every waiter of this Store.
func (d *Store) rescan() {
	d.waiters.WakeAll()
	names, err := d.names()
	if err != nil {
		d.log.Warn("filestore: rescan of the directory", "dir", d.dir, "err", err)
	}
	for _, name := range names {
		if key, kind := parseName(name); kind == kindWant {
			d.request(key, d.path(name), true)
		}
	}
}
