//go:build unix

package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

func TestDeleteRemovesLockFileWhileHeld(t *testing.T) {
	dir, id := t.TempDir(), newID()
	a, b := openDir(t, dir), openDir(t, dir)
	lockPath := filepath.Join(dir, "session-"+keyOf(id)+".lock")

	la := lock(t, a, id)
	if err := la.Save(persist.Record{Data: []byte("x")}, false); err != nil {
		t.Fatal(err)
	}
	// A locker that opened the lock file just before it is deleted: it
	// keeps the old file (and its inode number) alive.
	oldF, err := os.Open(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer oldF.Close()
	old, err := oldF.Stat()
	if err != nil {
		t.Fatal(err)
	}
	// A second Store waits for the session while a holds it.
	got := make(chan persist.Lock)
	go func() {
		l, err := b.Lock(context.Background(), id, nil)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	if err := la.Delete(); err != nil {
		t.Fatal(err)
	}
	lb := <-got
	defer lb.Release()
	fresh, err := os.Stat(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(old, fresh) {
		t.Error("the next locker locked the deleted lock file")
	}
	// The old file can be flocked although b holds the session: that is why
	// every locker checks that the file it locked is still on the path.
	if err := syscall.Flock(int(oldF.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Errorf("flock of the deleted file: %v", err)
	}
	if _, err := lb.Load(); !errors.Is(err, persist.ErrNotFound) {
		t.Errorf("Load after Delete: got %v, want ErrNotFound", err)
	}
	// Never two holders: a third locker cannot get in.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if l, err := a.Lock(ctx, id, nil); !errors.Is(err, context.DeadlineExceeded) {
		if l != nil {
			l.Release()
		}
		t.Errorf("third Lock: got %v, want DeadlineExceeded", err)
	}
}
