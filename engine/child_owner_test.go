package engine_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/lockstep-go/lockstep/engine"
)

// ownerChild serves commands on stdin, one a line, with eng, answering on
// stdout:
//
//	do ID     increment n: "ok N", "notfound" or "err ..."
//	hold ID   start an increment that waits inside its turn: "holding", and
//	          once released "held ok N" (or "held notfound", "held err ...")
//	release   let the held increment go on
//
// It returns (closing eng) at the end of its input.
func ownerChild(eng *engine.Engine) int {
	var mu sync.Mutex // guards stdout
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	answer := func(prefix string, n int, err error) {
		switch {
		case err == nil:
			say("%sok %d", prefix, n)
		case errors.Is(err, engine.ErrNotFound):
			say("%snotfound", prefix)
		default:
			say("%serr %v", prefix, err)
		}
	}
	increment := func(id string, wait <-chan struct{}) (int, error) {
		var n int
		err := eng.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			if wait != nil {
				say("holding")
				<-wait
			}
			n, _ = engine.Get[int](s, "n")
			n++
			s.Set("n", n)
			return nil
		})
		return n, err
	}
	var held sync.WaitGroup
	release := make(chan struct{})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "do":
			n, err := increment(arg, nil)
			answer("", n, err)
		case "hold":
			held.Go(func() {
				n, err := increment(arg, release)
				answer("held ", n, err)
			})
		case "release":
			close(release)
			held.Wait()
		default:
			fmt.Fprintln(os.Stderr, "unknown command", cmd)
			return 2
		}
	}
	return 0
}
