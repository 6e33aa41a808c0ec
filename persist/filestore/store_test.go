package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
	"github.com/lockstep-go/lockstep/persist/storetest"
)

func lock(t *testing.T, d *filestore.Store, id string) persist.Lock {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := d.Lock(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "sessions")
	openDir(t, dir)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o700); got != want {
		t.Errorf("mode = %v, want %v", got, want)
	}
}

func TestSaveLoadRoundtrip(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	id := newID()
	l := lock(t, d, id)
	if _, err := l.Load(); !errors.Is(err, persist.ErrNotFound) || errors.Is(err, persist.ErrCorrupt) {
		t.Fatalf("Load of a new session: got %v, want ErrNotFound", err)
	}
	created := time.Unix(1700000000, 123456789)
	for i, sync := range []bool{false, true} {
		rec := persist.Record{Created: created, Expires: created.Add(time.Duration(i+1) * time.Hour), Data: []byte("hello " + id[:4])}
		if err := l.Save(rec, sync); err != nil {
			t.Fatal(err)
		}
		got, err := l.Load()
		if err != nil {
			t.Fatal(err)
		}
		if !got.Created.Equal(rec.Created) || !got.Expires.Equal(rec.Expires) || !bytes.Equal(got.Data, rec.Data) {
			t.Errorf("Load = %+v, want %+v", got, rec)
		}
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}

	// The files are named by the key, never by the ID, and are private.
	key := keyOf(id)
	names := listDir(t, dir)
	if want := []string{"session-" + key, "session-" + key + ".lock"}; !slices.Equal(names, want) {
		t.Errorf("files = %v, want %v", names, want)
	}
	for _, n := range names {
		if strings.Contains(n, id) {
			t.Errorf("file name %s contains the session ID", n)
		}
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode = %v, want 0600", n, got)
		}
	}

	// A second Store sees the record.
	l = lock(t, openDir(t, dir), id)
	defer l.Release()
	if got, err := l.Load(); err != nil || string(got.Data) != "hello "+id[:4] {
		t.Errorf("Load from another Store = %q, %v", got.Data, err)
	}
}

func TestSaveRejectsTimesItCannotStore(t *testing.T) {
	d := openDir(t, t.TempDir())
	l := lock(t, d, newID())
	defer l.Release()
	good := persist.Record{Created: time.Unix(1700000000, 0), Data: []byte("good")}
	// First a new file, then the in-place path: both check.
	for range 2 {
		if err := l.Save(good, false); err != nil {
			t.Fatal(err)
		}
		for name, rec := range map[string]persist.Record{
			"expires after 2262":   {Created: good.Created, Expires: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
			"created before 1678":  {Created: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)},
			"created at the epoch": {Created: time.Unix(0, 0)},
		} {
			if err := l.Save(rec, false); err == nil {
				t.Errorf("%s: Save succeeded", name)
			}
		}
		got, err := l.Load()
		if err != nil || string(got.Data) != "good" {
			t.Fatalf("after the rejected Saves: Load = %q, %v; want the good record", got.Data, err)
		}
	}
}

func TestReleasedLock(t *testing.T) {
	d := openDir(t, t.TempDir())
	l := lock(t, d, newID())
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err == nil {
		t.Error("second Release: got nil error")
	}
	if err := l.Delete(); err == nil {
		t.Error("Delete after Release: got nil error")
	}
	if err := l.Save(persist.Record{}, false); err == nil {
		t.Error("Save after Release: got nil error")
	}
	if _, err := l.Load(); err == nil {
		t.Error("Load after Release: got nil error")
	}
	if err := l.Quarantine(errors.New("x")); err == nil {
		t.Error("Quarantine after Release: got nil error")
	}
}

func TestCorruptRecordIsQuarantined(t *testing.T) {
	good := func(t *testing.T, dir, id string) []byte {
		d := openDir(t, dir)
		l := lock(t, d, id)
		if err := l.Save(persist.Record{Created: time.Now(), Data: []byte("some session data")}, false); err != nil {
			t.Fatal(err)
		}
		l.Release()
		b, err := os.ReadFile(filepath.Join(dir, "session-"+keyOf(id)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name   string
		mangle func([]byte) []byte
	}{
		{"empty", func(b []byte) []byte { return nil }},
		{"truncated header", func(b []byte) []byte { return b[:20] }},
		{"truncated data", func(b []byte) []byte { return b[:len(b)-3] }},
		{"trailing bytes", func(b []byte) []byte { return append(b, 0) }},
		{"bit flipped in data", func(b []byte) []byte { b[bytes.Index(b, []byte("session data"))] ^= 4; return b }},
		{"bit flipped in header", func(b []byte) []byte { b[15] ^= 1; return b }},
		{"other version", func(b []byte) []byte { b[9] = 9; return b }},
		{"not a record", func(b []byte) []byte { return []byte("(dp0\nS'pickle'\n") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, id := t.TempDir(), newID()
			b := tt.mangle(good(t, dir, id))
			path := filepath.Join(dir, "session-"+keyOf(id))
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			d := openDir(t, dir)
			l := lock(t, d, id)
			defer l.Release()
			_, err := l.Load()
			var ce *persist.CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, persist.ErrCorrupt) || !errors.Is(err, persist.ErrNotFound) {
				t.Fatalf("Load: got %v, want a *CorruptError", err)
			}
			if ce.Path != path {
				t.Errorf("Path = %s, want %s", ce.Path, path)
			}
			if !strings.HasPrefix(filepath.Base(ce.Quarantine), "session-"+keyOf(id)+".corrupt-") {
				t.Errorf("Quarantine = %q, want session-<key>.corrupt-*", ce.Quarantine)
			}
			if got, _ := os.ReadFile(ce.Quarantine); !bytes.Equal(got, b) {
				t.Errorf("quarantined file holds %q, want %q", got, b)
			}
			if strings.Contains(err.Error(), id) {
				t.Errorf("error %q contains the session ID", err)
			}
			if _, err := l.Load(); !errors.Is(err, persist.ErrNotFound) || errors.Is(err, persist.ErrCorrupt) {
				t.Errorf("second Load: got %v, want plain ErrNotFound", err)
			}
			// Sweep leaves the quarantined file alone.
			if _, err := d.Sweep(context.Background(), time.Now().Add(1000*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(ce.Quarantine); err != nil {
				t.Errorf("quarantined file after Sweep: %v", err)
			}
		})
	}
}

func TestQuarantineByCaller(t *testing.T) {
	dir, id := t.TempDir(), newID()
	d := openDir(t, dir)
	l := lock(t, d, id)
	if err := l.Save(persist.Record{Data: []byte("not gob")}, false); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("gob: bad data")
	err := l.Quarantine(cause)
	var ce *persist.CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, cause) || !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("Quarantine: got %v, want *CorruptError wrapping the cause", err)
	}
	if err := l.Release(); err == nil {
		t.Error("Release after Quarantine: got nil error, want released")
	}
	names := listDir(t, dir)
	if len(names) != 1 || filepath.Base(ce.Quarantine) != names[0] {
		t.Errorf("files = %v, want only %s", names, ce.Quarantine)
	}
	l = lock(t, d, id)
	defer l.Release()
	if _, err := l.Load(); !errors.Is(err, persist.ErrNotFound) {
		t.Errorf("Load after Quarantine: got %v, want ErrNotFound", err)
	}
}

func TestLockRespectsContext(t *testing.T) {
	dir, id := t.TempDir(), newID()
	a, b := openDir(t, dir), openDir(t, dir)
	la := lock(t, a, id)
	defer la.Release()

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		l, err := b.Lock(ctx, id, nil)
		if l != nil {
			l.Release()
		}
		errc <- err
	}()
	time.AfterFunc(10*time.Millisecond, cancel)
	err := <-errc
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock: got %v, want context.Canceled", err)
	}
	if strings.Contains(err.Error(), id) {
		t.Errorf("error %q contains the session ID", err)
	}
	// The waiter cleaned up its hand-over request.
	for _, n := range listDir(t, dir) {
		if strings.Contains(n, ".want-") {
			t.Errorf("left behind %s", n)
		}
	}
}

func TestHandOverBetweenDirs(t *testing.T) {
	dir, id := t.TempDir(), newID()
	a, b := openDir(t, dir), openDir(t, dir)
	wanted := make(chan struct{}, 1)
	la, err := a.Lock(context.Background(), id, func() {
		select {
		case wanted <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		<-wanted
		if err := la.Release(); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	lb := lock(t, b, id)
	t.Logf("hand-over between two Stores took %v", time.Since(start))
	<-released
	if err := lb.Release(); err != nil {
		t.Fatal(err)
	}
	for _, n := range listDir(t, dir) {
		if strings.Contains(n, ".want-") {
			t.Errorf("left behind %s", n)
		}
	}
}

func TestCloseEndsWaitingLocks(t *testing.T) {
	dir, id := t.TempDir(), newID()
	a := openDir(t, dir)
	b, err := filestore.Open(dir, filestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	la := lock(t, a, id)
	defer la.Release()
	errc := make(chan error)
	go func() {
		_, err := b.Lock(context.Background(), id, nil)
		errc <- err
	}()
	time.AfterFunc(5*time.Millisecond, func() { b.Close() })
	if err := <-errc; !errors.Is(err, persist.ErrClosed) {
		t.Errorf("waiting Lock after Close: got %v, want ErrClosed", err)
	}
	if _, err := b.Lock(context.Background(), id, nil); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Lock after Close: got %v, want ErrClosed", err)
	}
	if _, err := b.Sweep(context.Background(), time.Now()); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Sweep after Close: got %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLocksHeldAcrossClose(t *testing.T) {
	dir, id := t.TempDir(), newID()
	d, err := filestore.Open(dir, filestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := lock(t, d, id)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Save(persist.Record{Data: []byte("after close")}, true); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l = lock(t, openDir(t, dir), id)
	defer l.Release()
	if rec, err := l.Load(); err != nil || string(rec.Data) != "after close" {
		t.Errorf("Load = %q, %v", rec.Data, err)
	}
}

func TestVanishedDirectory(t *testing.T) {
	dir, id := t.TempDir(), newID()
	d := openDir(t, dir)
	l := lock(t, d, id)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err := l.Save(persist.Record{Data: []byte("x")}, false)
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "filestore: write session-") {
		t.Errorf("Save: got %v, want a wrapped ErrNotExist", err)
	}
	if _, err := l.Load(); !errors.Is(err, persist.ErrNotFound) {
		t.Errorf("Load: got %v, want ErrNotFound", err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("Release: %v", err)
	}
	if _, err := d.Lock(context.Background(), newID(), nil); err == nil || !strings.HasPrefix(err.Error(), "filestore: ") {
		t.Errorf("Lock: got %v, want a persist error", err)
	}
	if _, err := d.Sweep(context.Background(), time.Now()); err == nil {
		t.Error("Sweep: got nil error")
	}
}

// TestSweep checks what Sweep removes and that it never touches files
// outside its patterns or anything somebody holds.
func TestSweep(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	ctx := context.Background()
	now := time.Now()
	write := func(name string, age time.Duration) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if age > 0 {
			if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
				t.Fatal(err)
			}
		}
	}
	save := func(id string, expires time.Time) {
		t.Helper()
		l := lock(t, d, id)
		if err := l.Save(persist.Record{Created: now, Expires: expires, Data: []byte("d")}, false); err != nil {
			t.Fatal(err)
		}
		l.Release()
	}

	live, expired, never, busyExpired := newID(), newID(), newID(), newID()
	save(live, now.Add(time.Hour))
	save(expired, now.Add(-time.Second))
	save(never, time.Time{})
	save(busyExpired, now.Add(-time.Second))
	held := lock(t, d, busyExpired)
	defer held.Release()

	// The foundation's race: a live turn holds a lock whose record does
	// not exist yet.
	newSession := newID()
	heldNew := lock(t, d, newSession)
	defer heldNew.Release()

	orphan, orphanTemp, gone, waitedFor := keyOf(newID()), keyOf(newID()), keyOf(newID()), keyOf(newID())
	write("session-"+orphan+".lock", 0)
	write("session-"+keyOf(live)+".tmp-123456", 0)         // abandoned: live is not locked
	write("session-"+orphanTemp+".tmp-99", 0)              // abandoned: no lock file at all
	write("session-"+keyOf(busyExpired)+".tmp-4242", 0)    // its writer holds the lock
	write("session-"+gone+".want-abc", 2*time.Minute)      // stale request
	write("session-"+waitedFor+".want-fresh", 0)           // a live waiter's request
	write("session-"+keyOf(live)+".corrupt-1700000000", 0) // quarantined

	foreign := []string{
		"notes.txt", "session-", "session-abc", "session-abc.lock",
		"session-" + strings.ToUpper(orphan) + ".lock", // keys are lowercase
		"session-" + orphan + ".lock.bak",
		"session-" + orphan + ".tmp-",  // empty suffix
		"session-" + orphan + ".tmp-X", // upper case suffix
		"session-" + orphan + ".want-a.b",
		"session-" + orphan + "x",
		"session-" + orphan[:63] + ".lock",
		"Session-" + orphan,
		"session-" + orphan + ".LOCK",
	}
	for _, n := range foreign {
		write(n, 10*time.Hour)
	}
	if err := os.Mkdir(filepath.Join(dir, "session-"+gone), 0o700); err != nil { // a directory named like a record
		t.Fatal(err)
	}

	rep, err := d.Sweep(ctx, now)
	if err == nil {
		t.Log("sweep: no errors")
	} else {
		t.Logf("sweep errors (expected for the directory named like a record): %v", err)
	}
	want := persist.SweepReport{Expired: 1, OrphanLocks: 1, TempFiles: 2, Busy: 3}
	if rep.Removed = nil; !reflect.DeepEqual(rep, want) {
		t.Errorf("report = %+v, want %+v", rep, want)
	}

	wantFiles := append([]string{
		"session-" + gone,
		"session-" + keyOf(live), "session-" + keyOf(live) + ".lock",
		"session-" + waitedFor + ".want-fresh",
		"session-" + keyOf(live) + ".corrupt-1700000000",
		"session-" + keyOf(never), "session-" + keyOf(never) + ".lock",
		"session-" + keyOf(busyExpired), "session-" + keyOf(busyExpired) + ".lock",
		"session-" + keyOf(busyExpired) + ".tmp-4242",
		"session-" + keyOf(newSession) + ".lock",
	}, foreign...)
	slices.Sort(wantFiles)
	if got := listDir(t, dir); !slices.Equal(got, wantFiles) {
		t.Errorf("files after sweep:\n got %v\nwant %v", got, wantFiles)
	}

	// Once released, the expired session goes too (with its temp file), and
	// the new session's lock file, whose record never came, is an orphan.
	held.Release()
	heldNew.Release()
	rep, _ = d.Sweep(ctx, now)
	if rep.Removed = nil; !reflect.DeepEqual(rep, persist.SweepReport{Expired: 1, OrphanLocks: 1, TempFiles: 1}) {
		t.Errorf("second report = %+v, want Expired 1, OrphanLocks 1, TempFiles 1", rep)
	}
	for _, id := range []string{busyExpired, newSession} {
		for _, suffix := range []string{"", ".lock"} {
			if _, err := os.Stat(filepath.Join(dir, "session-"+keyOf(id)+suffix)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("session-<key>%s still there: %v", suffix, err)
			}
		}
	}
}

func TestSweepNeverRemovesHeldLockFile(t *testing.T) {
	dir, id := t.TempDir(), newID()
	holder, sweeper, other := openDir(t, dir), openDir(t, dir), openDir(t, dir)
	l := lock(t, holder, id) // a new session: no record yet
	defer l.Release()
	lockPath := filepath.Join(dir, "session-"+keyOf(id)+".lock")
	before, err := os.Stat(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			rep, err := sweeper.Sweep(context.Background(), time.Now().Add(time.Hour))
			if err != nil || rep.OrphanLocks != 0 {
				t.Errorf("Sweep = %+v, %v; want no orphan removed", rep, err)
				return
			}
		}
	}()
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		l2, err := other.Lock(ctx, id, nil)
		cancel()
		if err == nil {
			l2.Release()
			t.Fatal("a second locker got in")
		}
	}
	close(stop)
	wg.Wait()
	after, err := os.Stat(lockPath)
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("lock file replaced or removed: %v", err)
	}
}

// A lock file removed (and recreated and taken by another locker) behind a
// holder's back: the old holder's Save and Delete refuse with ErrLockLost
// and leave the new holder's files alone.
func TestLockLost(t *testing.T) {
	dir, id := t.TempDir(), newID()
	a, b := openDir(t, dir), openDir(t, dir)
	lockPath := filepath.Join(dir, "session-"+keyOf(id)+".lock")
	recPath := filepath.Join(dir, "session-"+keyOf(id))

	la := lock(t, a, id)
	if err := la.Save(persist.Record{Data: []byte("old")}, false); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(lockPath); err != nil {
		t.Fatal(err)
	}
	lb := lock(t, b, id) // gets in: the file it locks is a new one
	if err := lb.Save(persist.Record{Data: []byte("new")}, false); err != nil {
		t.Fatal(err)
	}
	if err := la.Save(persist.Record{Data: []byte("stale")}, false); !errors.Is(err, persist.ErrLockLost) {
		t.Fatalf("Save by the holder whose lock file was removed = %v, want ErrLockLost", err)
	}
	if err := la.Delete(); !errors.Is(err, persist.ErrLockLost) {
		t.Fatalf("Delete = %v, want ErrLockLost", err)
	}
	rec, err := lb.Load()
	if err != nil || string(rec.Data) != "new" {
		t.Fatalf("record = %q, %v; want the new holder's", rec.Data, err)
	}
	for _, p := range []string{lockPath, recPath} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed: %v", filepath.Base(p), err)
		}
	}
	lb.Release()
}

// Store keeps the Store contract, Owner included, hands sessions over and can
// be inspected.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) persist.Store {
		d, err := filestore.Open(t.TempDir(), filestore.Config{})
		require.NoError(t, err)
		return d
	}, storetest.HandsOver())
}
