//go:build !unix

package main

import (
	"io"
	"os"
)

// childStdin returns the hand-over child's stdin.
func childStdin() io.Reader { return os.Stdin }
