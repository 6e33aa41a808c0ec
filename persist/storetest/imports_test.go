package storetest_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The package imports the standard library and persist alone, like
// testing/fstest, so that a third-party store's test binary gets nothing
// else: no testify, no test kit of this repository.
func TestImportsStandardLibraryAndPersistOnly(t *testing.T) {
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && path != "github.com/lockstep-go/lockstep/persist" {
				t.Errorf("%s imports %s, want the standard library and persist only", name, path)
			}
		}
	}
}
