package filestore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
)

// faultyFile is a store file whose writes fail with err after limit bytes,
// whose Datasync fails with syncErr, and whose Close, after closing the
// file, returns closeErr.
type faultyFile struct {
	osFile
	limit    int
	err      error
	syncErr  error
	closeErr error
}

func (f *faultyFile) Close() error {
	if err := f.File.Close(); err != nil {
		return err
	}
	return f.closeErr
}

func (f *faultyFile) Write(b []byte) (int, error) {
	if len(b) <= f.limit {
		f.limit -= len(b)
		return f.File.Write(b)
	}
	n, _ := f.File.Write(b[:f.limit])
	f.limit = 0
	return n, f.err
}

func (f *faultyFile) WriteAt(b []byte, off int64) (int, error) {
	if len(b) <= f.limit {
		f.limit -= len(b)
		return f.File.WriteAt(b, off)
	}
	n, _ := f.File.WriteAt(b[:f.limit], off)
	f.limit = 0
	return n, f.err
}

func (f *faultyFile) Datasync() error {
	if f.syncErr != nil {
		return f.syncErr
	}
	return f.osFile.Datasync()
}

// faultyTemp returns a createTemp seam whose files are faultyFiles.
func faultyTemp(limit int, err, syncErr error) func(dir, pattern string) (storeFile, error) {
	return func(dir, pattern string) (storeFile, error) {
		f, cerr := os.CreateTemp(dir, pattern)
		if cerr != nil {
			return nil, cerr
		}
		return &faultyFile{osFile: osFile{f}, limit: limit, err: err, syncErr: syncErr}, nil
	}
}

// openTestDir opens a Store on dir, closed when t ends; then the directory
// must be at rest (testkit.DirAtRest).
func openTestDir(t *testing.T, dir string, cfg Config) *Store {
	t.Helper()
	testkit.DirAtRest(t, dir)
	d, err := Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func mustLock(t *testing.T, d *Store, id string) persist.Lock {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := d.Lock(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSaveFaults checks that a failed Save leaves the old record intact and
// no temp file behind: a full disk, a read-only directory, a failing fsync.
func TestSaveFaults(t *testing.T) {
	tests := []struct {
		name       string
		createTemp func(dir, pattern string) (storeFile, error)
		sync       bool
		want       error
	}{
		{"disk full in header", faultyTemp(10, syscall.ENOSPC, nil), false, syscall.ENOSPC},
		{"disk full in data", faultyTemp(fileHeaderLen+100, syscall.ENOSPC, nil), true, syscall.ENOSPC},
		{"read-only directory", func(dir, pattern string) (storeFile, error) {
			return nil, &fs.PathError{Op: "open", Path: filepath.Join(dir, pattern), Err: syscall.EROFS}
		}, false, syscall.EROFS},
		{"fsync fails", faultyTemp(1<<30, nil, syscall.EIO), true, syscall.EIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var faulty atomic.Bool
			d := openTestDir(t, dir, Config{createTemp: func(dir, pattern string) (storeFile, error) {
				if faulty.Load() {
					return tt.createTemp(dir, pattern)
				}
				return createTemp(dir, pattern)
			}})
			l := mustLock(t, d, "id")
			defer l.Release()
			old := persist.Record{Created: time.Unix(1, 0), Data: []byte("old")}
			if err := l.Save(old, false); err != nil {
				t.Fatal(err)
			}
			faulty.Store(true)
			err := l.Save(persist.Record{Created: time.Unix(2, 0), Data: make([]byte, 1000)}, tt.sync)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Save: got %v, want %v", err, tt.want)
			}
			if prefix := "filestore: write " + recordName(keyOf("id")) + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q, want prefix %q", err, prefix)
			}
			got, err := l.Load()
			if err != nil || string(got.Data) != "old" {
				t.Errorf("Load after failed Save = %q, %v; want the old record", got.Data, err)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), tempInfix) {
					t.Errorf("temp file %s left behind", e.Name())
				}
			}
			// The store recovers when the fault goes away.
			faulty.Store(false)
			if err := l.Save(persist.Record{Data: []byte("new")}, tt.sync); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestInodeRecheck makes the lock file disappear (and come back as another
// file) between a locker's flock and its check: the locker must retry and
// end up holding the file on the path.
func TestInodeRecheck(t *testing.T) {
	for _, replace := range []bool{false, true} {
		t.Run(map[bool]string{false: "unlinked", true: "replaced"}[replace], func(t *testing.T) {
			dir := t.TempDir()
			var calls atomic.Int32
			d := openTestDir(t, dir, Config{afterFlock: func(path string) {
				if calls.Add(1) != 1 {
					return
				}
				// As if the previous holder unlinked the file after we
				// opened it and before we locked it.
				if err := os.Remove(path); err != nil {
					t.Error(err)
				}
				if replace {
					if err := os.WriteFile(path, nil, 0o600); err != nil {
						t.Error(err)
					}
				}
			}})
			l := mustLock(t, d, "id").(*dirLock)
			defer l.Release()
			if got := d.inodeRetries.Load(); got != 1 {
				t.Errorf("inode retries = %d, want 1", got)
			}
			locked, err := l.f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			onPath, err := os.Stat(d.path(lockName(keyOf("id"))))
			if err != nil || !os.SameFile(locked, onPath) {
				t.Errorf("holding a file that is not on the path (%v)", err)
			}
			// And it excludes everybody else.
			other := openTestDir(t, dir, Config{})
			if l2, err := other.tryLock(keyOf("id"), nil, true); l2 != nil || err != nil {
				t.Errorf("second tryLock = %v, %v; want busy", l2, err)
			}
		})
	}
}

// TestPollingWithoutWatcher checks that hand-over works without
// notifications: the holder's poller lists the directory, finds the
// waiter's request and calls wanted; the waiter, which cannot have the
// lock before, gets it once the holder releases.
func TestPollingWithoutWatcher(t *testing.T) {
	dir := t.TempDir()
	listings := make(chan struct{}, 1)
	a := openTestDir(t, dir, Config{noWatch: true, polled: func(listed bool) {
		if listed {
			select {
			case listings <- struct{}{}:
			default:
			}
		}
	}})
	b := openTestDir(t, dir, Config{noWatch: true})
	wanted := make(chan struct{}, 1)
	la, err := a.Lock(context.Background(), "id", func() {
		select {
		case wanted <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		l   persist.Lock
		err error
	}
	got := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), pollTestTimeout)
		defer cancel()
		l, err := b.Lock(ctx, "id", nil)
		got <- result{l, err}
	}()
	select {
	case <-wanted:
	case r := <-got:
		t.Fatalf("the waiter's Lock returned (%v, %v) while the holder held the session, want it to wait", r.l, r.err)
	case <-time.After(pollTestTimeout):
		t.Fatalf("wanted not called within %v: the poller did not pass the request on", pollTestTimeout)
	}
	select {
	case <-listings:
	case <-time.After(pollTestTimeout):
		t.Fatalf("no poll that listed the directory within %v, want the request found by one", pollTestTimeout)
	}
	select {
	case r := <-got:
		t.Fatalf("the waiter's Lock returned (%v, %v) while the holder held the session, want it to wait", r.l, r.err)
	default:
	}
	if err := la.Release(); err != nil {
		t.Fatal(err)
	}
	r := <-got // the waiter's own deadline bounds the wait
	if r.err != nil {
		t.Fatalf("the waiter's Lock after the release: got %v, want the lock", r.err)
	}
	if err := r.l.Release(); err != nil {
		t.Fatal(err)
	}
}

// TestRescan checks the recovery from a watcher overflow: pending requests
// reach their holders.
func TestRescan(t *testing.T) {
	dir := t.TempDir()
	d := openTestDir(t, dir, Config{noWatch: true})
	wanted := make(chan struct{}, 1)
	l, err := d.Lock(context.Background(), "id", func() {
		select {
		case wanted <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := d.path(recordName(keyOf("id")) + wantInfix + "x1")
	if err := os.WriteFile(want, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d.rescan()
	<-wanted
	l.Release()
	if _, err := os.Stat(want); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("request file after release: %v, want removed", err)
	}
}

func TestParseName(t *testing.T) {
	key := keyOf("id")
	tests := []struct {
		name string
		kind fileKind
	}{
		{"session-" + key, kindRecord},
		{"session-" + key + ".lock", kindLock},
		{"session-" + key + ".tmp-1234", kindTemp},
		{"session-" + key + ".want-z0", kindWant},
		{"session-" + key + ".corrupt-17", kindCorrupt},
		{"session-" + key + ".tmp-", kindNone},
		{"session-" + key + ".tmp-A", kindNone},
		{"session-" + key + ".lockx", kindNone},
		{"session-" + strings.ToUpper(key), kindNone},
		{"session-" + key[:63], kindNone},
		{"session-" + key[:63] + "g", kindNone},
		{"session-" + key + "0", kindNone},
		{"xsession-" + key, kindNone},
		{"", kindNone},
	}
	for _, tt := range tests {
		if _, got := parseName(tt.name); got != tt.kind {
			t.Errorf("parseName(%q) = %v, want %v", tt.name, got, tt.kind)
		}
	}
}

// TestWakeUpRestartsPolling wakes a waiter that has backed off to its
// longest poll while the lock is still taken (as when the retry loses a
// race to another locker or to an Inspector's probe), then frees the lock
// without notifying anyone: the waiter must get it at its first poll after
// the wake-up, minPoll later, not after the backoff it had reached. Fake
// time (synctest) makes the delays exact; the Stores run without a watch, so
// that every goroutine waits on timers.
func TestWakeUpRestartsPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		holderDir := openTestDir(t, dir, Config{noWatch: true})
		d := openTestDir(t, dir, Config{noWatch: true})
		held := mustLock(t, holderDir, "id").(*dirLock)
		defer held.Release()

		got := make(chan persist.Lock, 1)
		go func() {
			l, err := d.Lock(context.Background(), "id", nil)
			if err != nil {
				t.Error(err)
			}
			got <- l
		}()
		// Polls come 1, 5, 21, then every 32 ms (no watch): at 501 ms the
		// last one before this; the next is due at 533 ms.
		time.Sleep(502 * time.Millisecond)
		synctest.Wait()
		d.waiters.Wake(keyOf("id")) // the retry finds the lock taken
		synctest.Wait()
		if err := held.f.Unlock(); err != nil { // free, and nobody is told
			t.Fatal(err)
		}
		start := time.Now()
		l := <-got
		if waited := time.Since(start); waited > minPoll {
			t.Errorf("the waiter got the lock %v after it was freed, want %v", waited, minPoll)
		}
		if l != nil {
			_ = l.Release()
		}
	})
}
