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
