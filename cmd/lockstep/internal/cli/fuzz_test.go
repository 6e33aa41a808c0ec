package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lockstep-go/lockstep/cmd/lockstep/internal/cli"
)

// storeName matches every name the file store may create in its directory.
var storeName = regexp.MustCompile(`^session-[0-9a-f]{64}(\.lock|\.(tmp|want|corrupt)-[0-9a-z]+)?$`)

// FuzzMain runs command lines (arguments separated by newlines) over a
// session directory: whatever the arguments, the command line exits with
// 0, 1 or 2, says why in one line when it fails, prints nothing on bad
// usage, and creates no file but the store's own, inside the directory:
// a key is never a path.
func FuzzMain(f *testing.F) {
	for _, seed := range []string{
		"ls", "ls\n-json", "ls\n-owner\nalice", "stats\n-json", "sweep",
		"show\n" + strings.Repeat("ab", 32), "show\n../../x", "rm\n" + strings.Repeat("0", 64) + "\n../" + strings.Repeat("0", 61),
		"revoke\n-owner\nalice", "-timeout\n1ns\nrm\n" + strings.Repeat("f", 64), "-h", "",
	} {
		f.Add(seed)
	}
	root := f.TempDir()
	dir := filepath.Join(root, "sessions")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var args []string
		if line != "" {
			args = strings.Split(line, "\n")
		}
		var out, errb bytes.Buffer
		code := cli.Main(t.Context(), "lockstep", append([]string{"-dir", dir}, args...), &out, &errb, cli.Backends()...)
		switch code {
		case 0:
		case 1, 2:
			if msg := errb.String(); !strings.HasPrefix(msg, "lockstep: ") || strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
				t.Errorf("exit status %d with message %q, want one line", code, msg)
			}
			if code == 2 && out.Len() > 0 {
				t.Errorf("bad usage printed %q", out.String())
			}
		default:
			t.Errorf("exit status %d", code)
		}
		for _, d := range []string{root, dir} {
			ents, err := os.ReadDir(d)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if d == root && e.Name() != "sessions" || d == dir && !storeName.MatchString(e.Name()) {
					t.Errorf("%q created %s", args, filepath.Join(d, e.Name()))
				}
			}
		}
	})
}
