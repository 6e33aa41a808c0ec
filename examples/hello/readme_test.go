package main

import (
	"os"
	"strings"
	"testing"
)

// The README shows this program from its package clause on, as it
// compiles here; the test fails when the two drift apart.
func TestREADMEShowsThisProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, program, ok := strings.Cut(string(src), "package main\n")
	if !ok {
		t.Fatal("main.go: no package clause")
	}
	if !strings.Contains(string(readme), "```go\npackage main\n"+program+"```\n") {
		t.Errorf("README.md does not show examples/hello/main.go as it is: got a README without it, want the program from \"package main\" on in a go code block")
	}
}
