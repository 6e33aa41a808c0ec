package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"

	"github.com/lockstep-go/lockstep/persist"
)

// Polling bounds of a waiting Lock when no notification arrives: the first
// retry comes after minPoll, each next one after four times as long, up to
// maxPoll, or maxPollBlind while the Store has no working watch. Every
// wake-up costs a waiting process CPU time, so the steps are few:
// notifications, not polls, make hand-overs fast. Without a watch the
// waiter learns of a release only by polling, so it polls more often: a
// hand-over between two processes that both run without a watcher (the
// holder polls every 50 ms) then still completes within about 100 ms.
const (
	minPoll      = time.Millisecond
	maxPoll      = 64 * time.Millisecond
	maxPollBlind = 32 * time.Millisecond
)

// refreshEvery is how often a waiting Lock touches its hand-over request
// file, which re-announces it to a holder that missed it and keeps Sweep
// off it.
const refreshEvery = 250 * time.Millisecond

// staleWant is the age after which Sweep removes a hand-over request file.
// A live waiter refreshes its file every refreshEvery.
const staleWant = time.Minute

// maxInodeRetries bounds how often one attempt to lock re-locks because the
// lock file it locked was unlinked or replaced in the meantime.
const maxInodeRetries = 1000

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// Logger receives what the store handles without returning it (sweep
	// errors it continues after, quarantined records, watcher trouble).
	// Nil means slog.Default().
	Logger *slog.Logger

	// SyncDeletes makes deletions durable: after Delete, Quarantine and a
	// sweep's removal of an expired record, the directory is fsync'd, so
	// that a destroyed or rotated session cannot come back after a power
	// loss. engine.Open sets it for OnCommitSync. Default false.
	SyncDeletes bool

	// Test seams, set only by the package's own tests.
	createTemp func(dir, pattern string) (storeFile, error)   // default: os.CreateTemp
	openFile   func(name string, flag int) (storeFile, error) // default: os.OpenFile
	afterFlock func(path string)                              // called after each successful flock, before the inode check
	noWatch    bool                                           // run without the fsnotify watcher (polling only)
	polled     func(listed bool)                              // called by the monitor after each poll; listed: it read the directory
	watched    func(path string)                              // called by the monitor for each event of its watch
	syncDir    func(dir string) error                         // fsync of the directory after a deletion or a rename; default: syncDir
}

// Store is a persist.Store that keeps each session in files of one
// directory, which several processes (and several Stores of one process)
// may share. See docs/storage.md for the layout and protocols.
//
// All methods are safe for concurrent use. A Store runs one goroutine (the
// monitor: directory watcher and poller) until Close.
type Store struct {
	dir         string
	log         *slog.Logger
	createTemp  func(dir, pattern string) (storeFile, error)
	openFile    func(name string, flag int) (storeFile, error)
	afterFlock  func(path string)
	noWatch     bool
	polled      func(listed bool)
	watched     func(path string)
	syncDeletes bool
	syncDir     func(dir string) error

	kick     chan struct{}  // capacity 1: tells the monitor that a key is held now
	holdGen  atomic.Uint64  // counts keys taken, so that the poller lists the directory for new holders
	watching atomic.Bool    // the monitor has a working watch on the directory
	done     chan struct{}  // closed by Close
	wg       sync.WaitGroup // the monitor goroutine
	closeErr error          // the watcher's Close error, set by the monitor before it ends
	closed   atomic.Bool
	once     sync.Once

	inodeRetries atomic.Int64 // locks dropped by the inode check (for tests)

	mu      sync.Mutex         // guards holders
	holders map[string]*holder // keys locked through this Store

	waiters persist.Waiters // Locks of this Store waiting for a key
}

// holder is a key locked through a Store.
type holder struct {
	wanted func()              // nil: nobody to tell
	wants  map[string]struct{} // hand-over request files seen while held
}

// Open opens the session directory dir, creating it (mode 0700) if it is
// missing, and starts watching it for hand-over requests. Without a working
// watch (inotify limits, the directory removed or replaced), the Store polls
// for hand-over requests of the keys it holds, and watches again as soon as
// it can. The Store must be closed.
func Open(dir string, cfg Config) (*Store, error) {
	if dir == "" {
		return nil, errors.New("filestore: open dir: empty path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: open dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: open dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("filestore: open dir %s: not a directory", dir)
	}
	d := &Store{
		dir:         dir,
		log:         cfg.Logger,
		createTemp:  cfg.createTemp,
		openFile:    cfg.openFile,
		afterFlock:  cfg.afterFlock,
		noWatch:     cfg.noWatch,
		polled:      cfg.polled,
		watched:     cfg.watched,
		syncDeletes: cfg.SyncDeletes,
		syncDir:     cfg.syncDir,
		kick:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		holders:     make(map[string]*holder),
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.createTemp == nil {
		d.createTemp = createTemp
	}
	if d.openFile == nil {
		d.openFile = openFile
	}
	if d.syncDir == nil {
		d.syncDir = syncDir
	}
	m := &monitor{d: d, ident: fi}
	if !d.noWatch {
		if err := m.startWatch(); err != nil {
			// Correctness never depends on the watcher: the monitor polls.
			d.log.Warn("filestore: directory watcher unavailable, hand-over falls back to polling", "dir", dir, "err", err)
		}
	}
	d.wg.Add(1)
	go m.run()
	return d, nil
}

// Close stops the monitor (watcher and poller) and waits for it to end.
// Locks still held stay valid until released; Lock and Sweep return
// ErrClosed afterwards, and so do Locks still waiting. Close is idempotent.
func (d *Store) Close() error {
	var err error
	d.once.Do(func() {
		d.closed.Store(true)
		close(d.done)
		d.wg.Wait()
		if d.closeErr != nil {
			err = fmt.Errorf("filestore: close watcher: %w", d.closeErr)
		}
	})
	return err
}

// Lock takes the exclusive lock of session id, waiting while another Lock,
// in this or another process, holds it. A waiting Lock asks the holder to
// hand over (the holder's wanted is called) and is woken when it releases;
// when no notification arrives it polls, from 1 ms backing off (x4) to 64 ms
// (32 ms while the Store has no working watch), and from 1 ms again after each
// wake-up.
// wanted is also called when the Store sees that the directory on its path was
// removed or replaced, which loses the locks held in the old one.
func (d *Store) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	return d.lockKey(ctx, keyOf(id), wanted)
}

// lockKey is Lock for the session of key.
func (d *Store) lockKey(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	if d.closed.Load() {
		return nil, persist.ErrClosed
	}
	l, err := d.tryLock(key, wanted, true)
	if l != nil || err != nil {
		return l, err
	}
	return d.wait(ctx, key, wanted)
}

// wait announces a waiting Lock and retries until it gets the lock.
func (d *Store) wait(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	woken := d.waiters.Add(key)
	var want string // our hand-over request file, "" if none
	defer func() {
		d.waiters.Remove(key, woken)
		if want != "" {
			_ = os.Remove(want)
		}
	}()

	backoff := minPoll
	timer := time.NewTimer(backoff)
	defer timer.Stop()
	refreshed := time.Now()
	for {
		refresh := time.Since(refreshed) >= refreshEvery
		if refresh {
			refreshed = time.Now()
		}
		want = d.announce(key, want, refresh)
		l, err := d.tryLock(key, wanted, true)
		if l != nil {
			l.waited = true
			return l, nil
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("filestore: lock session %s: %w", key, ctx.Err())
		case <-d.done:
			return nil, persist.ErrClosed
		case <-woken:
			// The lock may be free, but the retry can lose a race (to
			// another locker, or to an Inspector's momentary probe): poll
			// from the start again, so that a lost race costs about
			// minPoll, not the backoff reached so far.
			backoff = minPoll
			timer.Reset(backoff)
		case <-timer.C:
			limit := maxPoll
			if !d.watching.Load() {
				limit = maxPollBlind
			}
			backoff = min(4*backoff, limit)
			timer.Reset(backoff)
		}
	}
}

// announce makes sure a hand-over request file for key exists and returns
// its path. With refresh, an existing file gets a new modification time,
// which tells a holder that missed its creation and keeps Sweep off it.
// Failures are logged: the waiter still polls.
func (d *Store) announce(key, want string, refresh bool) string {
	if want != "" {
		var err error
		if refresh {
			now := time.Now()
			err = os.Chtimes(want, now, now)
		} else {
			_, err = os.Lstat(want)
		}
		if err == nil {
			return want
		}
		// The holder removed it when it released, or Sweep did.
	}
	for range 3 {
		name := d.path(namePrefix + key + wantInfix + strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			d.log.Debug("filestore: cannot announce waiter", "key", key, "err", err)
			return ""
		}
		_ = f.Close()
		return name
	}
	return ""
}

// tryLock takes the lock of key if it is free, without waiting. It returns
// a nil Lock and no error if someone else holds it. With create, a missing
// lock file is created; without, a missing one makes tryLock report
// fs.ErrNotExist.
func (d *Store) tryLock(key string, wanted func(), create bool) (*dirLock, error) {
	f, err := d.tryFlock(key, create)
	if f == nil || err != nil {
		return nil, err
	}
	h := &holder{wanted: wanted}
	d.mu.Lock()
	d.holders[key] = h
	first := len(d.holders) == 1
	d.mu.Unlock()
	d.holdGen.Add(1)
	if first {
		// The monitor checks the directory's identity while keys are held.
		select {
		case d.kick <- struct{}{}:
		default:
		}
	}
	return &dirLock{d: d, key: key, f: f, h: h}, nil
}

// tryFlock flocks the lock file of key without waiting and checks that the
// locked file is still the one on the path, retrying if it is not.
func (d *Store) tryFlock(key string, create bool) (*flock.Flock, error) {
	path := d.path(lockName(key))
	flag := os.O_RDONLY
	if create {
		flag |= os.O_CREATE
	}
	for range maxInodeRetries {
		f := flock.New(path, flock.SetFlag(flag), flock.SetPermissions(0o600))
		ok, err := f.TryLock()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && !create {
				return nil, err
			}
			return nil, fmt.Errorf("filestore: lock %s: %w", lockName(key), err)
		}
		if !ok {
			return nil, nil
		}
		if d.afterFlock != nil {
			d.afterFlock(path)
		}
		err = stillOnPath(f, path)
		if err == nil {
			return f, nil
		}
		_ = f.Unlock()
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errReplaced) {
			return nil, fmt.Errorf("filestore: lock %s: %w", lockName(key), err)
		}
		// The file was unlinked (and perhaps replaced) by its previous
		// holder after we opened it: our lock protects nothing. Retry.
		d.inodeRetries.Add(1)
		if errors.Is(err, fs.ErrNotExist) && !create {
			return nil, err
		}
	}
	return nil, fmt.Errorf("filestore: lock %s: lock file keeps changing", lockName(key))
}

// errReplaced reports that a lock file's path now names another file.
var errReplaced = errors.New("lock file replaced")

// stillOnPath returns nil if the file f has open is the one at path: an
// error matching fs.ErrNotExist if path is gone, errReplaced if it names
// another file, or the error of fstat or stat.
func stillOnPath(f *flock.Flock, path string) error {
	held, err := f.Stat() // fstat of the open descriptor
	if err != nil {
		return err
	}
	cur, err := os.Stat(path)
	switch {
	case err != nil:
		return err
	case !os.SameFile(held, cur):
		return errReplaced
	}
	return nil
}
