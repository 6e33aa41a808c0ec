package filestore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
)

// writeLog records what the store wrote through recordingFiles.
type writeLog struct {
	mu     sync.Mutex
	off    int64  // offset of the last WriteAt
	last   []byte // its bytes
	synced []byte // the content of the last file Datasync'd, as it was then
}

// recordingFile is a store file that logs its in-place writes and, at each
// Datasync, what the disk then holds.
type recordingFile struct {
	osFile
	log *writeLog
}

func (f *recordingFile) WriteAt(b []byte, off int64) (int, error) {
	f.log.mu.Lock()
	f.log.off, f.log.last = off, bytes.Clone(b)
	f.log.mu.Unlock()
	return f.File.WriteAt(b, off)
}

func (f *recordingFile) Datasync() error {
	if err := f.osFile.Datasync(); err != nil {
		return err
	}
	b, err := os.ReadFile(f.Name())
	f.log.mu.Lock()
	f.log.synced = b
	f.log.mu.Unlock()
	return err
}

func recordingConfig(log *writeLog) Config {
	return Config{
		createTemp: func(dir, pattern string) (storeFile, error) {
			f, err := os.CreateTemp(dir, pattern)
			if err != nil {
				return nil, err
			}
			return &recordingFile{osFile{f}, log}, nil
		},
		openFile: func(name string, flag int) (storeFile, error) {
			f, err := os.OpenFile(name, flag, 0)
			if err != nil {
				return nil, err
			}
			return &recordingFile{osFile{f}, log}, nil
		},
	}
}

// testRecords returns n records that fit the slots of the first one, with
// data and owners of changing lengths.
func testRecords(n int) []persist.Record {
	recs := make([]persist.Record, n)
	for i := range recs {
		size := []int{150, 7, 90, 0, 149, 33}[i%6]
		recs[i] = persist.Record{
			Created: time.Unix(1700000000, 0),
			Expires: time.Unix(1700003600+int64(i), 0),
			Owner:   strings.Repeat("o", i%3),
			Data:    bytes.Repeat([]byte{byte('a' + i)}, size),
		}
	}
	return recs
}

// garbage fills b with one of the patterns a torn write may leave.
func garbage(b []byte, pattern int, rng *rand.Rand) {
	switch pattern {
	case 0: // the old bytes stay
	case 1:
		clear(b)
	case 2:
		for i := range b {
			b[i] = 0xff
		}
	default:
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
}

// TestTornWrite writes a series of records with Save (sync) and, for each
// in-place write, simulates it torn at every byte offset of the slot, with
// each kind of garbage after the tear, and with random bytes of it lost:
// decoding always gives the previous record or the new one, never an error
// or a mixture. It also checks that each Save returned only after a
// Datasync of what it wrote.
func TestTornWrite(t *testing.T) {
	dir := t.TempDir()
	log := &writeLog{}
	d := openTestDir(t, dir, recordingConfig(log))
	l := mustLock(t, d, "id").(*dirLock)
	defer l.Release()
	path := d.path(recordName(keyOf("id")))
	rng := rand.New(rand.NewPCG(1, 2))

	recs := testRecords(13)
	require.NoError(t, l.Save(recs[0], true))
	created, err := os.Stat(path)
	require.NoError(t, err)
	checked := 0
	for i := 1; i < len(recs); i++ {
		prev, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, l.Save(recs[i], true))
		now, err := os.ReadFile(path)
		require.NoError(t, err)

		log.mu.Lock()
		off, w, synced := log.off, log.last, log.synced
		log.mu.Unlock()
		// In place: the same file, changed only where the slot was written.
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.True(t, os.SameFile(created, fi), "commit %d replaced the file", i)
		require.Equal(t, len(prev), len(now))
		require.Equal(t, prev[:off], now[:off], "commit %d wrote before its slot", i)
		require.Equal(t, prev[off+int64(len(w)):], now[off+int64(len(w)):], "commit %d wrote after its slot", i)
		// Durable: what the disk held at the last Datasync is the new record.
		got, err := decodeRecord(synced)
		require.NoError(t, err)
		require.True(t, sameRecord(got, recs[i]), "commit %d: synced image holds %+v, want %+v", i, got, recs[i])

		_, lo, err := decodeFile(prev)
		require.NoError(t, err)
		slotEnd := off + int64(lo.slotSize)
		want := func(img []byte, what string) {
			t.Helper()
			got, err := decodeRecord(img)
			complete := bytes.Equal(img[off:off+int64(len(w))], w)
			switch {
			case err != nil:
				t.Fatalf("commit %d, %s: %v", i, what, err)
			case complete && !sameRecord(got, recs[i]):
				t.Fatalf("commit %d, %s: complete write reads %+v, want %+v", i, what, got, recs[i])
			case !complete && !sameRecord(got, recs[i-1]):
				t.Fatalf("commit %d, %s: torn write reads %+v, want the previous %+v", i, what, got, recs[i-1])
			}
			checked++
		}
		for k := 0; k <= len(w); k++ {
			for pattern := range 4 {
				img := bytes.Clone(prev)
				copy(img[off:], w[:k])
				garbage(img[off+int64(k):slotEnd], pattern, rng)
				want(img, fmt.Sprintf("torn at byte %d of %d, garbage %d", k, len(w), pattern))
			}
		}
		// A disk may also persist the sectors of a write out of order.
		for range 200 {
			img := bytes.Clone(prev)
			for j := range w {
				if rng.IntN(2) == 0 {
					img[off+int64(j)] = w[j]
				}
			}
			want(img, "random bytes lost")
		}
	}
	t.Logf("%d torn images decoded", checked)

	// Another Store, as another process would, reads the last record.
	require.NoError(t, l.Release())
	l2 := mustLock(t, openTestDir(t, dir, Config{}), "id")
	defer l2.Release()
	got, err := l2.Load()
	require.NoError(t, err)
	assert.True(t, sameRecord(got, recs[len(recs)-1]), "got %+v", got)
}

// TestInPlaceWriteFaults makes the in-place write or its fdatasync fail:
// Save returns the error, the previous record stays the one on disk, and
// the next Save, the fault gone, writes a new file.
func TestInPlaceWriteFaults(t *testing.T) {
	tests := []struct {
		name    string
		limit   int
		err     error
		syncErr error
		sync    bool
	}{
		{"write fails in the header", 10, syscall.EIO, nil, false},
		{"write fails in the data", slotHeaderLen + 3, syscall.ENOSPC, nil, false},
		{"fdatasync fails", 1 << 30, nil, syscall.EIO, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var faulty bool
			cfg := Config{openFile: func(name string, flag int) (storeFile, error) {
				f, err := os.OpenFile(name, flag, 0)
				if err != nil || !faulty {
					return osFile{f}, err
				}
				return &faultyFile{osFile: osFile{f}, limit: tt.limit, err: tt.err, syncErr: tt.syncErr}, nil
			}}
			d := openTestDir(t, dir, cfg)
			old := persist.Record{Created: time.Unix(1, 0), Data: []byte("old")}
			l := mustLock(t, d, "id")
			require.NoError(t, l.Save(old, false))
			require.NoError(t, l.Release())

			faulty = true
			l = mustLock(t, d, "id")
			defer l.Release()
			_, err := l.Load()
			require.NoError(t, err)
			err = l.Save(persist.Record{Created: time.Unix(2, 0), Data: []byte("new data")}, tt.sync)
			want := tt.err
			if want == nil {
				want = tt.syncErr
			}
			require.ErrorIs(t, err, want)
			assert.True(t, strings.HasPrefix(err.Error(), "filestore: write "+recordName(keyOf("id"))+": "), "error %q", err)

			b, err := os.ReadFile(d.path(recordName(keyOf("id"))))
			require.NoError(t, err)
			got, err := decodeRecord(b)
			require.NoError(t, err)
			assert.Equal(t, "old", string(got.Data), "record on disk after the failed Save")

			faulty = false
			require.NoError(t, l.Save(persist.Record{Data: []byte("new")}, tt.sync))
			got, err = l.Load()
			require.NoError(t, err)
			assert.Equal(t, "new", string(got.Data))
		})
	}
}

// TestInPlaceWriteCloseFails makes the close after a successful in-place
// write fail: the slot is valid on disk and readers see the new record, so
// Save succeeds, and the next Save writes in place after it.
func TestInPlaceWriteCloseFails(t *testing.T) {
	for _, sync := range []bool{false, true} {
		dir := t.TempDir()
		var faulty bool
		d := openTestDir(t, dir, Config{openFile: func(name string, flag int) (storeFile, error) {
			f, err := os.OpenFile(name, flag, 0)
			if err != nil || !faulty || flag&os.O_WRONLY == 0 {
				return osFile{f}, err
			}
			return &faultyFile{osFile: osFile{f}, limit: 1 << 30, closeErr: syscall.EIO}, nil
		}})
		l := mustLock(t, d, "id")
		require.NoError(t, l.Save(persist.Record{Data: []byte("old")}, sync))
		path := d.path(recordName(keyOf("id")))
		created, err := os.Stat(path)
		require.NoError(t, err)

		faulty = true
		require.NoError(t, l.Save(persist.Record{Data: []byte("new")}, sync), "sync %v", sync)
		faulty = false
		require.NoError(t, l.Save(persist.Record{Data: []byte("newer")}, sync))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.True(t, os.SameFile(created, fi), "sync %v: the next Save wrote a new file", sync)
		require.NoError(t, l.Release())

		l = mustLock(t, openTestDir(t, dir, Config{}), "id")
		got, err := l.Load()
		require.NoError(t, err)
		assert.Equal(t, "newer", string(got.Data), "sync %v", sync)
		require.NoError(t, l.Release())
	}
}

// TestRenameSyncFails makes the directory's fsync after a new record file's
// rename fail: Save reports it, though the new record is in place and
// another holder reads it; the next Save writes a new file again.
func TestRenameSyncFails(t *testing.T) {
	dir := t.TempDir()
	var fail bool
	d := openTestDir(t, dir, Config{syncDir: func(dir string) error {
		if fail {
			return syscall.EIO
		}
		return syncDir(dir)
	}})
	l := mustLock(t, d, "id")
	require.NoError(t, l.Save(persist.Record{Data: []byte("old")}, true))
	fail = true
	err := l.Save(persist.Record{Data: bytes.Repeat([]byte("n"), 1000)}, true) // outgrows its slot: a new file
	require.ErrorIs(t, err, syscall.EIO)
	assert.Empty(t, tempFiles(t, dir))
	fail = false
	require.NoError(t, l.Release())

	l = mustLock(t, openTestDir(t, dir, Config{}), "id")
	got, err := l.Load()
	require.NoError(t, err)
	assert.Len(t, got.Data, 1000, "the record committed despite the error")
	require.NoError(t, l.Release())
}

// TestInPlaceWriteIntoAReplacedRecord has the lock lost, and the record
// rewritten by another Store with another slot size, after the holder's
// check and before it opens the record: the holder must not write its
// slot into the other's file.
func TestInPlaceWriteIntoAReplacedRecord(t *testing.T) {
	dir := t.TempDir()
	var race func()
	d := openTestDir(t, dir, Config{openFile: func(name string, flag int) (storeFile, error) {
		if r := race; r != nil && flag&os.O_WRONLY != 0 {
			race = nil
			r()
		}
		return openFile(name, flag)
	}})
	other := openTestDir(t, dir, Config{})
	l := mustLock(t, d, "id")
	defer l.Release()
	require.NoError(t, l.Save(persist.Record{Data: bytes.Repeat([]byte("a"), 5000)}, false))

	race = func() {
		require.NoError(t, os.Remove(d.path(lockName(keyOf("id")))))
		ol := mustLock(t, other, "id")
		_, err := ol.Load()
		require.NoError(t, err)
		require.NoError(t, ol.Save(persist.Record{Data: []byte("theirs")}, false)) // a much smaller slot: a new file
		require.NoError(t, ol.Release())
	}
	err := l.Save(persist.Record{Data: bytes.Repeat([]byte("b"), 4000)}, false)
	require.Nil(t, race, "the in-place write did not open the record")
	require.ErrorIs(t, err, persist.ErrLockLost)

	ol := mustLock(t, other, "id")
	defer ol.Release()
	got, err := ol.Load()
	require.NoError(t, err, "the other's record was damaged")
	assert.Equal(t, "theirs", string(got.Data))
}

// TestMigrateV1 checks that a record of the previous format is read and
// rewritten in the current one by the next Save.
func TestMigrateV1(t *testing.T) {
	dir := t.TempDir()
	d := openTestDir(t, dir, Config{})
	path := d.path(recordName(keyOf("id")))
	old := persist.Record{Created: time.Unix(1700000000, 0), Expires: time.Unix(1700003600, 0), Data: []byte("old format")}
	require.NoError(t, os.WriteFile(path, encodeV1(old), 0o600))

	l := mustLock(t, d, "id")
	got, err := l.Load()
	require.NoError(t, err)
	assert.True(t, sameRecord(got, old), "got %+v, want %+v", got, old)
	b, _ := os.ReadFile(path)
	assert.Equal(t, byte(v1Version), b[9], "Load rewrote the file")

	rec := persist.Record{Created: old.Created, Expires: old.Expires.Add(time.Hour), Owner: "alice", Data: []byte("new format")}
	require.NoError(t, l.Save(rec, false))
	require.NoError(t, l.Release())
	b, _ = os.ReadFile(path)
	assert.Equal(t, byte(recordVersion), b[9], "format after Save")
	l = mustLock(t, d, "id")
	defer l.Release()
	got, err = l.Load()
	require.NoError(t, err)
	assert.True(t, sameRecord(got, rec), "got %+v, want %+v", got, rec)
	assert.Empty(t, tempFiles(t, dir))
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		if strings.Contains(e.Name(), tempInfix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestSaveGrowsAndShrinks checks when Save writes a new file: a record that
// outgrows its slot, and a small record in a big slot; and that Save
// writes in place otherwise.
func TestSaveGrowsAndShrinks(t *testing.T) {
	dir := t.TempDir()
	d := openTestDir(t, dir, Config{})
	path := d.path(recordName(keyOf("id")))
	l := mustLock(t, d, "id")
	defer l.Release()
	inode := func() os.FileInfo {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi
	}
	slotSize := func() int {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		_, lo, err := decodeFile(b)
		require.NoError(t, err)
		return lo.slotSize
	}
	steps := []struct {
		size     int
		newFile  bool
		slotSize int
	}{
		{10, true, minSlotSize},
		{200, false, minSlotSize},
		{221, true, 448}, // 36+221 > 256
		{10, false, 448},
		{20000, true, 30080},
		{10000, false, 30080},
		{5000, true, 7616}, // (36+5000)*4 < 30080
	}
	var last os.FileInfo
	for i, s := range steps {
		require.NoError(t, l.Save(persist.Record{Data: bytes.Repeat([]byte("x"), s.size)}, false))
		fi := inode()
		if i > 0 {
			assert.Equal(t, s.newFile, !os.SameFile(last, fi), "step %d (%d bytes): new file", i, s.size)
		}
		assert.Equal(t, s.slotSize, slotSize(), "step %d (%d bytes): slot size", i, s.size)
		last = fi
		got, err := l.Load()
		require.NoError(t, err)
		require.Len(t, got.Data, s.size)
	}
	assert.Empty(t, tempFiles(t, dir))
}

// TestEverySlotCorrupt checks that a record whose slots all fail their
// checksums is quarantined with a *CorruptError that says so.
func TestEverySlotCorrupt(t *testing.T) {
	dir := t.TempDir()
	d := openTestDir(t, dir, Config{})
	l := mustLock(t, d, "id")
	require.NoError(t, l.Save(persist.Record{Data: []byte("first")}, false))
	require.NoError(t, l.Save(persist.Record{Data: []byte("second")}, false))
	require.NoError(t, l.Release())
	path := d.path(recordName(keyOf("id")))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, s := range []string{"first", "second"} {
		b[bytes.Index(b, []byte(s))] ^= 1
	}
	require.NoError(t, os.WriteFile(path, b, 0o600))

	l = mustLock(t, d, "id")
	defer l.Release()
	_, err = l.Load()
	var ce *persist.CorruptError
	require.ErrorAs(t, err, &ce)
	assert.ErrorIs(t, err, errNoSlot)
	assert.ErrorIs(t, err, errChecksum)
	assert.Contains(t, err.Error(), "no valid record slot (slot 0: filestore: record checksum mismatch; slot 1: filestore: record checksum mismatch)")
	q, err := os.ReadFile(ce.Quarantine)
	require.NoError(t, err)
	assert.Equal(t, b, q)
}

// TestRecordRemovedWhileHeld checks that a record file removed by hand
// while its session is held comes back at the next Save, as documented.
func TestRecordRemovedWhileHeld(t *testing.T) {
	dir := t.TempDir()
	d := openTestDir(t, dir, Config{})
	l := mustLock(t, d, "id")
	defer l.Release()
	require.NoError(t, l.Save(persist.Record{Data: []byte("one")}, false))
	require.NoError(t, os.Remove(d.path(recordName(keyOf("id")))))
	require.NoError(t, l.Save(persist.Record{Data: []byte("two")}, false))
	b, err := os.ReadFile(d.path(recordName(keyOf("id"))))
	require.NoError(t, err)
	got, err := decodeRecord(b)
	require.NoError(t, err)
	assert.Equal(t, "two", string(got.Data))
}

// TestReaderDuringWrites reads a record without its lock, as the sweeper
// does, while its holder writes it in place: every read decodes, to a
// record that was written whole.
func TestReaderDuringWrites(t *testing.T) {
	dir := t.TempDir()
	d := openTestDir(t, dir, Config{})
	l := mustLock(t, d, "id")
	defer l.Release()
	path := d.path(recordName(keyOf("id")))
	rec := func(i int) persist.Record {
		// 3000 bytes span pages: a torn read of a write is possible.
		return persist.Record{Expires: time.Unix(int64(i), 0), Data: bytes.Repeat([]byte{byte(i)}, 3000)}
	}
	require.NoError(t, l.Save(rec(1), false))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := 2; ctx.Err() == nil; i++ {
			if err := l.Save(rec(i), false); err != nil {
				done <- err
				return
			}
		}
	}()
	defer func() {
		cancel()
		assert.NoError(t, <-done)
	}()
	for range 2000 {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		got, err := decodeRecord(b)
		require.NoError(t, err)
		i := int(got.Expires.Unix())
		if !bytes.Equal(got.Data, rec(i).Data) {
			t.Fatalf("read a mixture: expires %d, data %q...", i, got.Data[:8])
		}
	}
}
