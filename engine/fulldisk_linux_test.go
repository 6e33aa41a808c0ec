package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lockstep-go/lockstep/engine"
)

// A real full disk: a 256 KiB tmpfs (needs root and permission to mount;
// skipped otherwise). The write fails with ENOSPC, the session keeps its
// last committed values in memory and on disk, other sessions are served,
// and writes succeed again once space is freed.
func TestFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "size=256k,mode=0700")
	e, err := engine.Open(dir, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	id, other := mustCreate(t, e), mustCreate(t, e)
	set(t, e, id, "k", "small")

	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()

	err = e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set("k", strings.Repeat("x", 64<<10))
		return nil
	})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Do on a full disk = %v, want ENOSPC", err)
	}
	if got := get(t, e, id, "k"); got != "small" {
		t.Fatalf("k = %.10q… after the failed write, want the committed value", got)
	}
	if got := get(t, e, other, "k"); got != nil {
		t.Fatalf("other session: k = %v, want nil", got)
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	set(t, e, id, "k", "after")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := openDir(t, dir, engine.Config{})
	if got := get(t, e2, id, "k"); got != "after" {
		t.Fatalf("k after restart = %v, want after", got)
	}
	e2.Close()
}

// A directory that becomes read-only (a tmpfs remounted read-only; needs
// root): writes fail with EROFS and change nothing, reads go on, and
// writes work again once it is writable.
func TestReadOnlyDirectory(t *testing.T) {
	dir := mountTmpfs(t, "size=1m,mode=0700")
	remount := func(flags uintptr) {
		t.Helper()
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|flags, "size=1m,mode=0700"); err != nil {
			t.Fatalf("remount: %v", err)
		}
	}
	e := openDir(t, dir, engine.Config{})
	id := mustCreate(t, e)
	set(t, e, id, "k", 1)
	remount(syscall.MS_RDONLY)
	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set("k", 2)
		return nil
	})
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("Do on a read-only directory = %v, want EROFS", err)
	}
	if got := get(t, e, id, "k"); got != 1 {
		t.Fatalf("k = %v, want 1", got)
	}
	if _, err := e.Create(context.Background()); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("Create on a read-only directory = %v, want EROFS", err)
	}
	remount(0)
	set(t, e, id, "k", 3)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

// mountTmpfs mounts a tmpfs with options on a new directory, unmounted when
// the test ends, or skips the test where mounting is not allowed.
func mountTmpfs(t *testing.T, options string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, options); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return dir
}
