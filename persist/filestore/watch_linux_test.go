//go:build linux

package filestore

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
)

// TestCommitsDoNotWakeTheWatch checks that in-place commits, which write
// into the record file, send the Store's own directory watch no event:
// between two marker files created before and after ten Saves, the watch
// sees nothing but the second marker.
func TestCommitsDoNotWakeTheWatch(t *testing.T) {
	dir := t.TempDir()
	events := make(chan string, 1000)
	d := openTestDir(t, dir, Config{watched: func(path string) { events <- path }})
	l, err := d.tryLock(keyOf("id"), nil, true)
	require.NoError(t, err)
	require.NotNil(t, l)
	defer l.Release()
	rec := persist.Record{Created: time.Now(), Data: []byte("data")}
	require.NoError(t, l.Save(rec, false)) // a new file: create and rename
	marker := func(name string) []string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, nil, 0o600))
		var seen []string
		for {
			p := <-events
			seen = append(seen, p)
			if p == path {
				return seen
			}
		}
	}
	marker("marker-1")
	for range 10 {
		require.NoError(t, l.Save(rec, false))
		require.NotZero(t, l.lo.version, "Save wrote a new file, want in place")
	}
	got := marker("marker-2")
	require.Equal(t, []string{filepath.Join(dir, "marker-2")}, got, "events of the watch between the markers")
}
