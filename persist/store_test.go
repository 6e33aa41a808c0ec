package persist_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/storetest"
)

// Memory keeps the Store contract and can be inspected; it is in-process
// only, so nobody needs it to hand sessions over.
func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) persist.Store { return persist.NewMemory() })
}

func TestMemoryLen(t *testing.T) {
	m := persist.NewMemory()
	l, err := m.Lock(t.Context(), newID(), nil)
	require.NoError(t, err)
	assert.Equal(t, 0, m.Len(), "Len of an empty store with a Lock held")
	require.NoError(t, l.Save(persist.Record{Data: []byte("x")}, false))
	assert.Equal(t, 1, m.Len(), "Len after Save")
	require.NoError(t, l.Delete())
	assert.Equal(t, 0, m.Len(), "Len after Delete")
}

func TestRecordExpired(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name    string
		expires time.Time
		want    bool
	}{
		{"never", time.Time{}, false},
		{"later", now.Add(time.Nanosecond), false},
		{"now", now, true},
		{"earlier", now.Add(-time.Nanosecond), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, persist.Record{Expires: tt.expires}.Expired(now))
		})
	}
}

func TestCorruptError(t *testing.T) {
	cause := errors.New("bad checksum")
	moved := &persist.CorruptError{Path: "session-ab", Quarantine: "session-ab.corrupt-1", Err: cause}
	stuck := &persist.CorruptError{Path: "session-ab", Err: cause}
	for _, err := range []error{moved, stuck, fmt.Errorf("engine: load: %w", moved)} {
		assert.ErrorIs(t, err, persist.ErrCorrupt)
		assert.ErrorIs(t, err, persist.ErrNotFound)
		assert.ErrorIs(t, err, cause)
		assert.NotErrorIs(t, err, persist.ErrLockLost)
	}
	assert.Equal(t, "persist: corrupt record session-ab (moved to session-ab.corrupt-1): bad checksum", moved.Error())
	assert.Equal(t, "persist: corrupt record session-ab: bad checksum", stuck.Error())
	assert.NotErrorIs(t, persist.ErrNotFound, persist.ErrCorrupt, "ErrNotFound alone is no corruption")
}

func TestSweepReportAdd(t *testing.T) {
	a := persist.SweepReport{Expired: 1, OrphanLocks: 2, TempFiles: 3, Busy: 4, Removed: []persist.Info{{Key: "a"}}}
	b := persist.SweepReport{Expired: 10, OrphanLocks: 20, TempFiles: 30, Busy: 40, Removed: []persist.Info{{Key: "b"}}}
	assert.Equal(t, persist.SweepReport{Expired: 11, OrphanLocks: 22, TempFiles: 33, Busy: 44, Removed: []persist.Info{{Key: "a"}, {Key: "b"}}}, a.Add(b))
}
