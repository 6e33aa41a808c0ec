package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gofrs/flock"
)

// atRest records the directories whose check is registered, per test, so
// that a test that opens several stores on one directory checks it once,
// after all of them are closed.
var atRest sync.Map // atRestKey -> struct{}

type atRestKey struct {
	t   testing.TB
	dir string
}

// DirAtRest checks, when t ends, that the file store's directory dir is at
// rest: no lock file is held (by this process or another), and no temp
// file or hand-over request is left behind. Only the first call for a test
// and a directory registers the check, which therefore runs after the
// cleanups of every store and engine opened after it: test helpers that
// open a store call it before they register its Close. Files that are not
// the store's are ignored, and so is a directory that no longer exists.
func DirAtRest(t testing.TB, dir string) {
	t.Helper()
	k := atRestKey{t, dir}
	if _, loaded := atRest.LoadOrStore(k, struct{}{}); loaded {
		return
	}
	t.Cleanup(func() {
		atRest.Delete(k)
		checkAtRest(t, dir)
	})
}

// checkAtRest reports what keeps dir from being at rest.
func checkAtRest(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			t.Errorf("testkit: directory at rest: %v", err)
		}
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "session-") {
			continue
		}
		switch {
		case strings.HasSuffix(name, ".lock"):
			l := flock.New(filepath.Join(dir, name))
			ok, err := l.TryLock()
			switch {
			case err != nil:
				t.Errorf("testkit: lock file %s at the end of the test: %v", name, err)
			case !ok:
				t.Errorf("testkit: lock file %s still held at the end of the test, want every lock released", name)
			default:
				_ = l.Unlock()
			}
			_ = l.Close()
		case strings.Contains(name, ".tmp-") || strings.Contains(name, ".want-"):
			t.Errorf("testkit: %s left at the end of the test, want no temp file or hand-over request", name)
		}
	}
}
