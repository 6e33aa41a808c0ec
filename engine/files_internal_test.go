package engine

import "testing"

// The default MaxResident leaves a reserve and half the rest of the
// descriptor limit to the process's other files.
func TestMaxResidentFor(t *testing.T) {
	for _, tt := range []struct {
		limit uint64
		want  int
	}{
		{0, 16}, {32, 16}, {64, 24}, {256, 96}, {1024, 384}, {4096, 1920}, {20256, 10000}, {1 << 20, 10000},
	} {
		if got := maxResidentFor(tt.limit); got != tt.want {
			t.Errorf("maxResidentFor(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
}

// Guarantee 34 (docs/architecture.md): with OnCommitSync, the store that
// Open makes syncs deletions too (TestSyncDeletes in the store's tests
// checks that such a store fsyncs the directory); with the other modes it
// does not.
func TestOpenSyncsDeletesWithOnCommitSync(t *testing.T) {
	for _, tt := range []struct {
		d    Durability
		want bool
	}{
		{OnCommit, false}, {OnCommitSync, true}, {OnPassivate, false},
	} {
		if got := dirConfig(Config{Durability: tt.d}).SyncDeletes; got != tt.want {
			t.Errorf("Durability %d: SyncDeletes = %v, want %v", tt.d, got, tt.want)
		}
	}
}
