//go:build !unix

package main

import (
	"errors"
	"os"
)

// The cherrypy-style systems and the hand-over need flock and getrusage;
// elsewhere they fail with errors.ErrUnsupported.
var errWouldBlock = errors.New("bench: would block")

func tryFlock(*os.File) error    { return errors.ErrUnsupported }
func unlockFlock(*os.File) error { return errors.ErrUnsupported }
func cpuTime() int64             { return 0 }
