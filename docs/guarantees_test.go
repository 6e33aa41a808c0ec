// Package docs holds no code, only this test, which keeps the numbered
// guarantees of architecture.md honest: each must name the test (or fuzz
// target) that checks it, as "Checked by `TestX` (pkg), `TestY` (pkg).", and
// every name must exist as `func TestX(` in a _test.go file of the
// repository, in any module. A Go test rather than a CI script, so that
// `go test ./...` of the root module runs it like any other test, on every
// platform. Package names in parentheses are for readers; the check ignores
// them, so a test that moves to another package stays valid.
package docs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	itemStart = regexp.MustCompile(`^(\d+)\. `)
	testName  = regexp.MustCompile("`((?:Test|Fuzz)[A-Za-z0-9_]*)`")
	testFunc  = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]*)\(`)
)

// guarantee is one numbered item of the Guarantees section.
type guarantee struct {
	n    int
	text string
}

// guarantees returns the numbered items of doc's "## Guarantees" section. An
// item runs from its number to the next item, heading or unindented line.
func guarantees(doc string) []guarantee {
	var out []guarantee
	in, item := false, -1
	for line := range strings.SplitSeq(doc, "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(line) == "## Guarantees"
			item = -1
			continue
		}
		if !in {
			continue
		}
		if m := itemStart.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, guarantee{n: n, text: line})
			item = len(out) - 1
			continue
		}
		switch {
		case item < 0:
		case line == "" || line[0] == ' ' || line[0] == '\t':
			out[item].text += "\n" + line
		default:
			item = -1
		}
	}
	return out
}

// problems lists what is wrong with doc's guarantees, given the names of the
// test functions that exist.
func problems(doc string, exist map[string]bool) []string {
	var out []string
	gs := guarantees(doc)
	if len(gs) == 0 {
		return []string{"no numbered guarantees found under \"## Guarantees\""}
	}
	last := 0
	for _, g := range gs {
		if g.n <= last {
			out = append(out, fmt.Sprintf("guarantee %d follows guarantee %d: numbers must increase", g.n, last))
		}
		last = g.n
		_, checked, ok := strings.Cut(g.text, "Checked by")
		if !ok {
			out = append(out, fmt.Sprintf("guarantee %d names no test (want \"Checked by `TestX` (pkg).\")", g.n))
			continue
		}
		names := testName.FindAllStringSubmatch(checked, -1)
		if len(names) == 0 {
			out = append(out, fmt.Sprintf("guarantee %d: \"Checked by\" names no `TestX` or `FuzzX`", g.n))
		}
		for _, m := range names {
			if !exist[m[1]] {
				out = append(out, fmt.Sprintf("guarantee %d names %s: got no func %s( in any _test.go, want one", g.n, m[1], m[1]))
			}
		}
	}
	return out
}

// testFuncs returns the names of the test and fuzz functions declared in the
// _test.go files under root.
func testFuncs(t *testing.T, root string) map[string]bool {
	t.Helper()
	exist := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllStringSubmatch(string(src), -1) {
			exist[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return exist
}

func TestGuaranteesNameTheirTests(t *testing.T) {
	doc, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	exist := testFuncs(t, "..")
	for _, p := range problems(string(doc), exist) {
		t.Errorf("docs/architecture.md: %s", p)
	}
}

// TestGuaranteeCheckFindsGaps plants every kind of gap in a small document
// and checks that the check reports each, and nothing in a sound one.
func TestGuaranteeCheckFindsGaps(t *testing.T) {
	exist := map[string]bool{"TestA": true, "TestB": true, "FuzzC": true}
	sound := "# X\n\n## Guarantees\n\n### Group\n\n" +
		"1. One. Checked by `TestA` (engine).\n" +
		"2. Two, on\n   two lines. Checked by `TestA`, `TestB` (engine);\n   `FuzzC` (persist).\n\n" +
		"Text between items.\n\n" +
		"35. Later. Checked by `TestB` (redisstore).\n\n## After\n\n3. Not a guarantee.\n"
	if got := problems(sound, exist); len(got) != 0 {
		t.Errorf("sound document: got problems %q, want none", got)
	}
	if got, want := len(guarantees(sound)), 3; got != want {
		t.Errorf("sound document: got %d guarantees, want %d", got, want)
	}
	planted := "## Guarantees\n\n" +
		"1. No test named.\n" +
		"2. Checked by nothing.\n" +
		"3. Checked by `TestGone` (engine).\n" +
		"3. Checked by `TestA` (engine).\n"
	got := strings.Join(problems(planted, exist), "\n")
	for _, want := range []string{"guarantee 1 names no test", "guarantee 2: \"Checked by\" names no", "guarantee 3 names TestGone", "guarantee 3 follows guarantee 3"} {
		if !strings.Contains(got, want) {
			t.Errorf("planted gaps: got problems\n%s\nwant one containing %q", got, want)
		}
	}
	if got := problems("# No guarantees\n", exist); len(got) != 1 {
		t.Errorf("document without guarantees: got %q, want one problem", got)
	}
}
