//go:build unix

package filestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
)

// Listing sees the lock another process holds, and its probe neither
// breaks that lock nor changes the directory.
func TestDirInspectOtherProcessLock(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	id := newID()
	want := persist.Record{Created: time.Now(), Owner: "carol", Data: []byte("held elsewhere")}
	saveRecord(t, d, id, want)

	c := startChild(t, "hold", dir, []string{id})
	require.Equal(t, "held", c.Line(t))
	before := dirNames(t, dir)
	for range 3 {
		rec, info, err := d.Inspect(t.Context(), keyOf(id))
		require.NoError(t, err)
		assert.True(t, info.Locked, "Locked of a session another process holds")
		assert.Equal(t, want.Data, rec.Data)
		var listed []persist.Info
		require.NoError(t, d.Sessions(t.Context(), "carol", func(info persist.Info) error {
			listed = append(listed, info)
			return nil
		}))
		if assert.Len(t, listed, 1) {
			assert.True(t, listed[0].Locked, "Locked, listed")
		}
	}
	assert.Equal(t, before, dirNames(t, dir), "files after inspecting a held session")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	l, err := d.Lock(ctx, id, nil)
	if !assert.ErrorIs(t, err, context.DeadlineExceeded, "Lock of the session the other process holds, after the probes") {
		_ = l.Release()
	}

	require.NoError(t, c.Wait()) // closes its stdin: it releases and ends
	_, info, err := d.Inspect(t.Context(), keyOf(id))
	require.NoError(t, err)
	assert.False(t, info.Locked, "Locked once the other process released")
}
