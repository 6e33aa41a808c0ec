package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofrs/flock"
)

// recorder is a testing.TB that keeps what it is told to report.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// The check of a directory at rest reports a held lock file, a temp file
// and a hand-over request, and accepts free lock
// files, records, quarantined records, other files and a missing directory.
func TestCheckAtRest(t *testing.T) {
	dir := t.TempDir()
	key := Key("id")
	for _, name := range []string{
		"session-" + key, "session-" + key + ".lock", "session-" + key + ".corrupt-1", "notes.txt",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := &recorder{TB: t}
	checkAtRest(r, dir)
	if len(r.errs) != 0 {
		t.Errorf("a directory at rest: got %q, want no report", r.errs)
	}

	held := flock.New(filepath.Join(dir, "session-"+Key("held")+".lock"))
	if ok, err := held.TryLock(); !ok || err != nil {
		t.Fatalf("TryLock: %v, %v", ok, err)
	}
	defer held.Close()
	for _, name := range []string{"session-" + key + ".tmp-1", "session-" + key + ".want-x1"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r = &recorder{TB: t}
	checkAtRest(r, dir)
	got := strings.Join(r.errs, "\n")
	for _, want := range []string{"session-" + Key("held") + ".lock still held", ".tmp-1 left", ".want-x1 left"} {
		if !strings.Contains(got, want) {
			t.Errorf("reports: got %q, want one about %q", got, want)
		}
	}

	r = &recorder{TB: t}
	checkAtRest(r, filepath.Join(dir, "gone"))
	if len(r.errs) != 0 {
		t.Errorf("a directory that is gone: got %q, want no report", r.errs)
	}
}
