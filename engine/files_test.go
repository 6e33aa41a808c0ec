package engine_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// openDir opens an engine on the session directory dir, closed when t ends;
// then the directory must be at rest (testkit.DirAtRest).
func openDir(t *testing.T, dir string, cfg engine.Config) *engine.Engine {
	t.Helper()
	testkit.DirAtRest(t, dir)
	e, err := engine.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// Open creates the directory 0700, and file names never contain the ID.
func TestOpenLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sessions")
	e := openDir(t, dir, engine.Config{})
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("dir mode %o, want 700", perm)
	}
	id := mustCreate(t, e)
	if _, err := os.Stat(testkit.RecordPath(dir, id)); err != nil {
		t.Fatalf("record missing after Create: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, de := range entries {
		if strings.Contains(de.Name(), id) {
			t.Errorf("file %s leaks the session ID", de.Name())
		}
	}
}

// A record that does not decode is reported naming the file, moved aside,
// and the session is not found; the engine goes on.
func TestCorruptRecord(t *testing.T) {
	for _, tt := range []struct {
		name    string
		corrupt func(t *testing.T, dir, id string)
	}{
		{"torn file", func(t *testing.T, dir, id string) {
			p := testkit.RecordPath(dir, id)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o600)
		}},
		{"bit flip", func(t *testing.T, dir, id string) {
			p := testkit.RecordPath(dir, id)
			b, _ := os.ReadFile(p)
			// A bit in every 64 bytes: every slot of the record is hit
			// (one slot hit alone reads as the commit before).
			for i := 32; i < len(b); i += 64 {
				b[i] ^= 0x40
			}
			os.WriteFile(p, b, 0o600)
		}},
		{"values that do not gob-decode", func(t *testing.T, dir, id string) {
			store, err := filestore.Open(dir, filestore.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			l, err := store.Lock(context.Background(), id, nil)
			if err != nil {
				t.Fatal(err)
			}
			l.Save(persist.Record{Created: time.Now(), Expires: time.Now().Add(time.Hour), Data: []byte("not gob")}, false)
			l.Release()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var logs bytes.Buffer
			cfg := engine.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			e := openDir(t, dir, cfg)
			id, other := mustCreate(t, e), mustCreate(t, e)
			set(t, e, id, "k", "v")
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			tt.corrupt(t, dir, id)

			e = openDir(t, dir, cfg)
			err := increment(context.Background(), e, id)
			if !errors.Is(err, engine.ErrNotFound) {
				t.Fatalf("Do on a corrupt record = %v, want ErrNotFound", err)
			}
			var ce *persist.CorruptError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), filepath.Base(testkit.RecordPath(dir, id))) {
				t.Fatalf("error %q does not name the file", err)
			}
			for _, p := range []string{testkit.RecordPath(dir, id), testkit.RecordPath(dir, id) + ".lock"} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s still in place: %v", filepath.Base(p), err)
				}
			}
			if ce.Quarantine == "" {
				t.Errorf("no quarantine path in %v", ce)
			} else if _, err := os.Stat(ce.Quarantine); err != nil {
				t.Errorf("quarantined file: %v", err)
			}
			if !strings.Contains(logs.String(), "quarantined") {
				t.Errorf("nothing logged:\n%s", logs.String())
			}
			if err := increment(context.Background(), e, other); err != nil {
				t.Fatalf("other session: %v", err)
			}
			if rep, err := e.Sweep(context.Background()); err != nil || rep.Expired != 0 {
				t.Fatalf("Sweep = %+v, %v", rep, err)
			}
			if _, err := os.Stat(ce.Quarantine); err != nil {
				t.Errorf("the sweeper removed the quarantined file: %v", err)
			}
		})
	}
}

// A session file deleted behind the engine's back (between turns, while
// the session is passivated) reads as not found.
func TestRecordDeletedBetweenTurns(t *testing.T) {
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{})
	id := mustCreate(t, e)
	set(t, e, id, "k", 1)
	e.Close()
	os.Remove(testkit.RecordPath(dir, id))
	e = openDir(t, dir, engine.Config{})
	if err := increment(context.Background(), e, id); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Do = %v, want ErrNotFound", err)
	}
}

// Destroy removes the record and the lock file.
func TestDestroyRemovesFiles(t *testing.T) {
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{})
	id := mustCreate(t, e)
	set(t, e, id, "k", 1)
	if err := e.Destroy(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{testkit.RecordPath(dir, id), testkit.RecordPath(dir, id) + ".lock"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists (%v)", filepath.Base(p), err)
		}
	}
}

// Unknown IDs leave no files behind (CherryPy's lock files by the million).
func TestUnknownIDLeavesNoLockFile(t *testing.T) {
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{})
	for range 20 {
		id := strings.Repeat("A", 42) + "E"
		if err := increment(context.Background(), e, id); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("Do = %v, want ErrNotFound", err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("%d files left in the directory, want 0", len(entries))
	}
}

// A directory that vanishes under the engine takes the lock files with it:
// a write fails with the error (and writes nothing), and the session is
// dropped from memory (guarantee 25, docs/architecture.md): later turns try
// to lock it again and fail too, instead of serving memory that no lock
// protects. Create fails.
func TestVanishedDirectory(t *testing.T) {
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{})
	id := mustCreate(t, e)
	set(t, e, id, "k", 1)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set("k", 2)
		return nil
	})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Do with the directory gone = %v, want an ENOENT error", err)
	}
	err = e.Do(context.Background(), id, func(context.Context, *engine.Session) error {
		t.Error("a turn was served from memory after the lock was lost")
		return nil
	})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Do after the lost lock = %v, want an ENOENT error (cannot lock again)", err)
	}
	if _, err := e.Create(context.Background()); err == nil {
		t.Fatal("Create succeeded without a directory")
	}
}

// A lock file removed while its session is resident: the next write
// notices, fails with ErrLockLost instead of writing unprotected, and the
// session is locked and loaded afresh by the turn after.
func TestLockFileRemovedWhileResident(t *testing.T) {
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{})
	id := mustCreate(t, e)
	set(t, e, id, "k", 1)
	if err := os.Remove(testkit.RecordPath(dir, id) + ".lock"); err != nil {
		t.Fatal(err)
	}
	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set("k", 2)
		return nil
	})
	if !errors.Is(err, persist.ErrLockLost) {
		t.Fatalf("Do = %v, want ErrLockLost", err)
	}
	set(t, e, id, "k", 3)
	if got := get(t, e, id, "k"); got != 3 {
		t.Fatalf("k = %v, want 3", got)
	}
	if _, err := os.Stat(testkit.RecordPath(dir, id) + ".lock"); err != nil {
		t.Fatalf("lock file not recreated: %v", err)
	}
}
