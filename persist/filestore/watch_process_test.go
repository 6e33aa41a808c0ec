//go:build linux

package filestore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist/filestore"
)

// maxHoard bounds how many inotify instances the exhausting child opens:
// above it the limit is not the kernel's default and the test is skipped.
const maxHoard = 4096

// TestHandOverWithoutInotify: a holder whose watcher cannot start, because
// the user's inotify instances (fs.inotify.max_user_instances) are used up
// for real, still hands over when another process asks, and watches again
// once instances are free.
//
// The child process takes every instance the limit allows, so for the
// moments until it frees them, other processes of this user cannot start a
// watcher either; the child keeps them for one hand-over only.
func TestHandOverWithoutInotify(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_instances"); err != nil {
		t.Skipf("no inotify limit to exhaust: %v", err)
	} else if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || n > maxHoard {
		t.Skipf("fs.inotify.max_user_instances = %s: too many to take in a test", strings.TrimSpace(string(b)))
	}
	dir, ids := t.TempDir(), []string{newID(), newID()}
	d := openDir(t, dir)
	c := startChild(t, "exhausted", dir, ids)
	for round, id := range ids {
		if got := c.Line(t); got != "held" {
			t.Fatalf("round %d: child said %q, want held", round, got)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), noticeTimeout)
		l, err := d.Lock(ctx, id, nil)
		cancel()
		require.NoError(t, err, "round %d: the holder never handed over", round)
		t.Logf("round %d (%s): hand-over took %v", round, map[int]string{0: "no watcher", 1: "watching again"}[round], time.Since(start))
		require.NoError(t, l.Release())
	}
	require.NoError(t, c.Wait())
}

// runExhausted is the child of TestHandOverWithoutInotify: it opens the Store
// with every inotify instance of the user taken, holds ids[0] until asked to
// hand it over, frees the instances, waits until the Store watches again,
// and holds ids[1] until asked.
func runExhausted(dir string, ids []string) error {
	out := bufio.NewWriter(os.Stdout)
	logs := newLogRecorder()
	var hoard []int
	freeHoard := func() {
		for _, fd := range hoard {
			_ = syscall.Close(fd)
		}
		hoard = nil
	}
	defer freeHoard()
	var d *filestore.Store
	// Another process may free an instance between the hoarding and
	// Open; then the Store gets a watcher, and we try again.
	for attempt := 0; d == nil; attempt++ {
		if attempt == 5 {
			return errors.New("the Store kept getting a watcher")
		}
		for {
			fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
			if err == nil {
				if hoard = append(hoard, fd); len(hoard) > maxHoard {
					return fmt.Errorf("no inotify limit within %d instances", maxHoard)
				}
				continue
			}
			if !errors.Is(err, syscall.EMFILE) {
				return fmt.Errorf("inotify_init1: %w", err)
			}
			break
		}
		// EMFILE also means a full descriptor table: make sure it is not.
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
		if uint64(len(hoard))+64 > lim.Cur {
			return fmt.Errorf("EMFILE from RLIMIT_NOFILE (%d), not the inotify limit", lim.Cur)
		}
		dd, err := filestore.Open(dir, filestore.Config{Logger: slog.New(logs)})
		if err != nil {
			return err
		}
		if logs.count(slog.LevelWarn, msgUnavailable) > 0 {
			d = dd
		} else {
			_ = dd.Close()
		}
	}
	defer d.Close()

	hold := func(id string) error {
		wanted, wantedCh := signal()
		l, err := d.Lock(context.Background(), id, wanted)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "held")
		out.Flush()
		if !received(wantedCh, noticeTimeout) {
			return errors.New("never asked to hand over")
		}
		return l.Release()
	}
	if err := hold(ids[0]); err != nil {
		return fmt.Errorf("without a watcher: %w", err)
	}
	freeHoard()
	if !logs.waitFor(slog.LevelInfo, msgAgain, noticeTimeout) {
		return errors.New("the Store did not watch again after inotify instances were freed")
	}
	if err := hold(ids[1]); err != nil {
		return fmt.Errorf("watching again: %w", err)
	}
	if n := logs.count(slog.LevelWarn, msgUnavailable); n != 1 {
		return fmt.Errorf("%d warnings that the watcher is unavailable, want 1", n)
	}
	return nil
}
