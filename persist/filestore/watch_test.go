package filestore_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// noticeTimeout bounds how long the tests below wait for something that
// must happen within the polling bound (about 100 ms). It only fails a test
// whose holder never notices; it measures nothing.
const noticeTimeout = 10 * time.Second

// logRecorder is a slog.Handler that keeps every record, so that tests can
// wait for a message and count them.
type logRecorder struct {
	mu   sync.Mutex // guards recs
	recs []slog.Record
	ch   chan struct{} // capacity 1: something was logged
}

func newLogRecorder() *logRecorder { return &logRecorder{ch: make(chan struct{}, 1)} }

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
	return nil
}

// count returns how many records of level contain msg.
func (r *logRecorder) count(level slog.Level, msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if rec.Level == level && strings.Contains(rec.Message, msg) {
			n++
		}
	}
	return n
}

// waitFor waits until a record of level containing msg was logged, or
// timeout has passed, and reports whether it was.
func (r *logRecorder) waitFor(level slog.Level, msg string, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for r.count(level, msg) == 0 {
		select {
		case <-r.ch:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// Messages the Store logs when it loses and regains its watch.
const (
	msgUnavailable = "directory watcher unavailable"
	msgLost        = "directory watch lost"
	msgAgain       = "watching the directory again"
)

// signal returns a wanted callback that never blocks, and its channel.
func signal() (func(), chan struct{}) {
	ch := make(chan struct{}, 1)
	return func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}, ch
}

func received(ch <-chan struct{}, timeout time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(timeout):
		return false
	}
}

func openLoggedDir(t *testing.T, dir string) (*filestore.Store, *logRecorder) {
	t.Helper()
	rec := newLogRecorder()
	d, err := filestore.Open(dir, filestore.Config{Logger: slog.New(rec)})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Close()) })
	return d, rec
}

// handOver has waiter lock id, which holder holds through l, and checks
// that the holder is asked (wantedCh) and that the waiter gets the lock once
// the holder releases.
func handOver(t *testing.T, waiter *filestore.Store, id string, l persist.Lock, wantedCh <-chan struct{}) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), noticeTimeout)
		defer cancel()
		l2, err := waiter.Lock(ctx, id, nil)
		if err == nil {
			err = l2.Release()
		}
		got <- err
	}()
	if !received(wantedCh, noticeTimeout) {
		t.Error("the holder was never asked to hand over")
	}
	require.NoError(t, l.Release())
	require.NoError(t, <-got)
}

// A session directory replaced (rm -rf, mkdir) while a lock is held: the
// open lock file keeps the old directory alive, so no removal event
// arrives. The holder must still notice (its lock is lost: it is asked to
// release, and Save and Delete refuse), and the Store must watch the new
// directory: a hand-over request there reaches a new holder.
func TestHolderNoticesDirectoryReplaced(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sessions")
	d, logs := openLoggedDir(t, dir)
	oldID, newID := newID(), newID()

	wanted, wantedCh := signal()
	l, err := d.Lock(context.Background(), oldID, wanted)
	require.NoError(t, err)
	require.NoError(t, l.Save(persist.Record{Data: []byte("old")}, false))

	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.Mkdir(dir, 0o700))

	assert.True(t, received(wantedCh, noticeTimeout), "the holder of a lock in the replaced directory was never told")
	assert.True(t, logs.waitFor(slog.LevelInfo, msgAgain, noticeTimeout), "the Store never watched the new directory")
	assert.ErrorIs(t, l.Save(persist.Record{Data: []byte("stale")}, false), persist.ErrLockLost)
	assert.ErrorIs(t, l.Delete(), persist.ErrLockLost)
	assert.Equal(t, 1, logs.count(slog.LevelWarn, msgLost), "warnings that the watch was lost")

	// The new directory is watched: a waiter's request reaches the holder.
	handsOverAfterRecovery(t, d, dir, newID, logs)
}

// handsOverAfterRecovery checks that d, which lost its watch once and
// watches dir again, hands a lock of id over to another Store on request,
// and that it logged the loss and the recovery once each.
func handsOverAfterRecovery(t *testing.T, d *filestore.Store, dir, id string, logs *logRecorder) {
	t.Helper()
	wanted, wantedCh := signal()
	l, err := d.Lock(context.Background(), id, wanted)
	require.NoError(t, err)
	handOver(t, openDir(t, dir), id, l, wantedCh)
	assert.Equal(t, 1, logs.count(slog.LevelWarn, msgLost), "warnings that the watch was lost")
	assert.Equal(t, 1, logs.count(slog.LevelInfo, msgAgain), "infos that the Store watches again")
}

// A session directory removed while nothing in it is held (the watch gets
// the removal event) and created again: the Store logs once that it runs
// degraded, watches the new directory as soon as it exists, and its
// holders hand over.
func TestWatchAddedAgainAfterDirectoryRecreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sessions")
	d, logs := openLoggedDir(t, dir)

	require.NoError(t, os.Remove(dir))
	require.True(t, logs.waitFor(slog.LevelWarn, msgLost, noticeTimeout), "no warning that the watch was lost")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.True(t, logs.waitFor(slog.LevelInfo, msgAgain, noticeTimeout), "the Store never watched the new directory")

	handsOverAfterRecovery(t, d, dir, newID(), logs)
}

// A held lock whose directory was removed and not created again: the
// holder is told, and Save fails (there is nowhere to write).
func TestHolderNoticesDirectoryRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sessions")
	d, logs := openLoggedDir(t, dir)
	wanted, wantedCh := signal()
	l, err := d.Lock(context.Background(), newID(), wanted)
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(dir))
	assert.True(t, received(wantedCh, noticeTimeout), "the holder of a lock in the removed directory was never told")
	assert.True(t, logs.waitFor(slog.LevelWarn, msgLost, noticeTimeout), "no warning that the watch was lost")
	err = l.Save(persist.Record{Data: []byte("x")}, false)
	assert.True(t, errors.Is(err, persist.ErrLockLost) || errors.Is(err, os.ErrNotExist), "Save = %v, want ErrLockLost or ErrNotExist", err)
	require.NoError(t, l.Release())
}
