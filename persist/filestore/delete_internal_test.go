package filestore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
)

// TestSyncDeletes: with SyncDeletes, every way a record leaves its name
// (Delete, Quarantine, a Load that quarantines, a sweep of an expired
// record) fsyncs the directory after the unlink or rename, and a failed
// fsync is returned; without, the directory is not synced.
func TestSyncDeletes(t *testing.T) {
	expired := persist.Record{Created: time.Unix(1, 0), Expires: time.Unix(2, 0), Data: []byte("x")}
	live := persist.Record{Created: time.Now(), Data: []byte("x")}
	tests := []struct {
		name   string
		rec    persist.Record
		delete func(d *Store, l persist.Lock) error
	}{
		{"Delete", live, func(_ *Store, l persist.Lock) error { return l.Delete() }},
		{"Quarantine", live, func(_ *Store, l persist.Lock) error { return l.Quarantine(errors.New("undecodable")) }},
		{"Load quarantines", live, func(d *Store, l persist.Lock) error {
			defer l.Release()
			if err := os.WriteFile(d.path(recordName(keyOf("id"))), []byte("not a record"), 0o600); err != nil {
				return err
			}
			_, err := l.Load()
			return err
		}},
		{"Sweep expired", expired, func(d *Store, l persist.Lock) error {
			if err := l.Release(); err != nil {
				return err
			}
			rep, err := d.Sweep(context.Background(), time.Now())
			if err == nil && rep.Expired != 1 {
				return errors.New("nothing expired")
			}
			return err
		}},
	}
	for _, tt := range tests {
		for _, syncDeletes := range []bool{false, true} {
			name := tt.name + map[bool]string{false: "/unsynced", true: "/synced"}[syncDeletes]
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				recPath := dir + "/" + recordName(keyOf("id"))
				var syncs int
				var fail error
				d := openTestDir(t, dir, Config{SyncDeletes: syncDeletes, syncDir: func(dir string) error {
					syncs++
					// The fsync must come after the record left its name.
					_, err := os.Lstat(recPath)
					assert.ErrorIs(t, err, fs.ErrNotExist, "directory synced while the record is still on its name")
					if fail != nil {
						return fail
					}
					return syncDir(dir)
				}})
				l := mustLock(t, d, "id")
				require.NoError(t, l.Save(tt.rec, false))
				// Quarantines report a *CorruptError; nothing else may fail.
				var ce *persist.CorruptError
				if err := tt.delete(d, l); errors.As(err, &ce) {
					require.NotEmpty(t, ce.Quarantine, "not moved aside: %v", err)
					require.NotErrorIs(t, err, syscall.EIO)
				} else {
					require.NoError(t, err)
				}
				_, err := os.Lstat(recPath)
				require.ErrorIs(t, err, fs.ErrNotExist)
				if !syncDeletes {
					assert.Zero(t, syncs, "directory syncs without SyncDeletes")
					return
				}
				assert.Equal(t, 1, syncs, "directory syncs")

				// A failing fsync is reported.
				fail = syscall.EIO
				l = mustLock(t, d, "id")
				require.NoError(t, l.Save(tt.rec, false))
				assert.ErrorIs(t, tt.delete(d, l), syscall.EIO)
			})
		}
	}
}
