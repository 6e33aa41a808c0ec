package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// dirNames returns the sorted names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// saveRecord saves rec for id and releases the lock.
func saveRecord(t *testing.T, d *filestore.Store, id string, rec persist.Record) {
	t.Helper()
	l := lock(t, d, id)
	require.NoError(t, l.Save(rec, false))
	require.NoError(t, l.Release())
}

// Listing skips every file that is not a record that decodes (lock, temp,
// hand-over, quarantined, corrupt and foreign files), and changes nothing
// in the directory.
func TestDirSessionsSkips(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	good := newID()
	saveRecord(t, d, good, persist.Record{Created: time.Now(), Owner: "alice", Data: []byte("v")})
	held := lock(t, d, newID()) // a lock file without a record
	defer held.Release()
	bad := keyOf(newID())
	for name, data := range map[string]string{
		"session-" + bad:                     "not a record",
		"session-" + bad + ".tmp-123":        "half",
		"session-" + bad + ".want-abc":       "",
		"session-" + bad + ".corrupt-17":     "old",
		"session-" + keyOf(good) + ".tmp-9":  "half",
		"notes.txt":                          "mine",
		"session-" + bad[:10]:                "short",
		"session-" + bad + ".lock.something": "",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600))
	}
	before := dirNames(t, dir)

	var got []persist.Info
	require.NoError(t, d.Sessions(t.Context(), "", func(info persist.Info) error {
		got = append(got, info)
		return nil
	}))
	require.Len(t, got, 1, "sessions listed: got %v", got)
	assert.Equal(t, keyOf(good), got[0].Key)
	assert.Equal(t, "alice", got[0].Owner)
	fi, err := os.Stat(filepath.Join(dir, "session-"+keyOf(good)))
	require.NoError(t, err)
	assert.Equal(t, fi.Size(), got[0].Bytes, "Bytes: the record file's size")

	_, _, err = d.Inspect(t.Context(), bad)
	assert.ErrorIs(t, err, persist.ErrCorrupt, "Inspect of a record that does not decode")
	var ce *persist.CorruptError
	if assert.ErrorAs(t, err, &ce) {
		assert.Empty(t, ce.Quarantine, "Inspect moved the record aside")
	}
	assert.Equal(t, before, dirNames(t, dir), "files after listing and inspecting")

	files, err := d.Files(t.Context())
	require.NoError(t, err)
	assert.Equal(t, filestore.FileCounts{Records: 2, Locks: 2, Temps: 2, Wants: 1, Quarantined: 1, Other: 3}, files)
	assert.Equal(t, before, dirNames(t, dir), "files after counting")
}

// A lock file without a record counts as an orphan only when nobody holds it.
func TestDirFilesOrphanLocks(t *testing.T) {
	d := openDir(t, t.TempDir())
	held := lock(t, d, newID())
	defer held.Release()
	require.NoError(t, lock(t, d, newID()).Release()) // leaves its lock file
	files, err := d.Files(t.Context())
	require.NoError(t, err)
	assert.Equal(t, filestore.FileCounts{Locks: 2, OrphanLocks: 1}, files)
}

// Quarantined reads records set aside, with why they do not decode now:
// a torn record fails its checksum; a record its holder's codec refused
// decodes, and Err is nil.
func TestDirQuarantined(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	torn, refused := newID(), newID()
	created := time.Unix(1700000000, 0)
	saveRecord(t, d, torn, persist.Record{Created: created, Data: []byte("torn")})
	saveRecord(t, d, refused, persist.Record{Created: created, Owner: "bob", Data: []byte("refused")})

	path := filepath.Join(dir, "session-"+keyOf(torn))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for i := 32; i < len(b); i++ {
		b[i] ^= 0xff // spoil both slots
	}
	require.NoError(t, os.WriteFile(path, b, 0o600))
	start := time.Now()
	_, err = lock(t, d, torn).Load()
	require.ErrorIs(t, err, persist.ErrCorrupt)
	l := lock(t, d, refused)
	_, err = l.Load()
	require.NoError(t, err)
	require.ErrorIs(t, l.Quarantine(errors.New("codec says no")), persist.ErrCorrupt)

	got := map[string]persist.Quarantined{}
	require.NoError(t, d.Quarantined(t.Context(), "", func(q persist.Quarantined) error {
		got[q.Key] = q
		return nil
	}))
	require.Len(t, got, 2)
	q := got[keyOf(torn)]
	assert.Error(t, q.Err, "Err of a torn record")
	assert.Contains(t, q.Err.Error(), "slot", "Err of a torn record")
	assert.Equal(t, persist.Record{}, q.Record, "Record of a torn record")
	assert.Equal(t, int64(len(b)), q.Bytes)
	assert.WithinDuration(t, start, q.Time, time.Minute, "Time: when it was set aside")
	assert.Regexp(t, `^session-`+keyOf(torn)+`\.corrupt-[0-9]+$`, q.Name)

	q = got[keyOf(refused)]
	assert.NoError(t, q.Err, "Err of a record that decodes")
	assert.Equal(t, "bob", q.Record.Owner)
	assert.Equal(t, "refused", string(q.Record.Data))
	assert.True(t, created.Equal(q.Record.Created))

	n := 0
	require.NoError(t, d.Quarantined(t.Context(), keyOf(refused), func(q persist.Quarantined) error {
		n++
		assert.Equal(t, keyOf(refused), q.Key)
		return nil
	}))
	assert.Equal(t, 1, n, "quarantined records of one key")
	assert.ErrorIs(t, d.Quarantined(t.Context(), "../x", func(persist.Quarantined) error { return nil }), persist.ErrBadKey)
}

// Inspect never creates a lock file, also for a key without a record.
func TestDirInspectCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	_, _, err := d.Inspect(t.Context(), keyOf(newID()))
	assert.ErrorIs(t, err, persist.ErrNotFound)
	assert.Empty(t, dirNames(t, dir))
}

// A cancelled context stops a listing.
func TestDirSessionsContext(t *testing.T) {
	d := openDir(t, t.TempDir())
	saveRecord(t, d, newID(), persist.Record{Data: []byte("x")})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := d.Sessions(ctx, "", func(persist.Info) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
}

// BenchmarkDirSessions measures listing 10k sessions: of one owner (every
// record is read: the file store keeps no owner index), and all of them
// (every record is read and its lock file probed).
func BenchmarkDirSessions(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	d, err := filestore.Open(dir, filestore.Config{})
	require.NoError(b, err)
	defer d.Close()
	ctx := context.Background()
	for i := range n {
		l, err := d.Lock(ctx, newID(), nil)
		require.NoError(b, err)
		rec := persist.Record{Created: time.Now(), Owner: "user-" + strconv.Itoa(i%100), Data: make([]byte, 200)}
		require.NoError(b, l.Save(rec, false))
		require.NoError(b, l.Release())
	}
	for _, bc := range []struct {
		name, owner string
		want        int
	}{{"owner", "user-7", n / 100}, {"all", "", n}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				found := 0
				if err := d.Sessions(ctx, bc.owner, func(persist.Info) error { found++; return nil }); err != nil {
					b.Fatal(err)
				}
				if found != bc.want {
					b.Fatalf("found %d sessions, want %d", found, bc.want)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/10k-sessions")
		})
	}
}
