package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lockstep-go/lockstep/engine"
)

// runChild runs a child role and returns the exit code.
func runChild(role string) int {
	dir, id := os.Getenv("LOCKSTEP_DIR"), os.Getenv("LOCKSTEP_ID")
	if code, ok := runPlatformChild(role, dir); ok {
		return code
	}
	n, _ := strconv.Atoi(os.Getenv("LOCKSTEP_N"))
	lockTimeout := time.Minute
	if d, err := time.ParseDuration(os.Getenv("LOCKSTEP_LOCK_TIMEOUT")); err == nil {
		lockTimeout = d
	}
	idle, _ := time.ParseDuration(os.Getenv("LOCKSTEP_IDLE")) // 0: the default
	eng, err := engine.Open(dir, engine.Config{LockTimeout: lockTimeout, SweepInterval: -1, IdleTimeout: idle})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	defer eng.Close()
	ctx := context.Background()
	switch role {
	case "increment":
		// n increments; each turn proves it is alone with a marker file
		// outside the session directory.
		marker := os.Getenv("LOCKSTEP_MARKER")
		for range n {
			err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
				f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
				if err != nil {
					return fmt.Errorf("two processes inside one session: %w", err)
				}
				f.Close()
				defer os.Remove(marker)
				v, _ := s.Get("n")
				c, _ := v.(int)
				s.Set("n", c+1)
				return nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, "do:", err)
				return 1
			}
		}
	case "ack":
		// Increment forever, printing each acknowledged value, until killed.
		out := bufio.NewWriter(os.Stdout)
		for {
			var c int
			err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
				v, _ := s.Get("n")
				c, _ = v.(int)
				c++
				s.Set("n", c)
				s.Set("pad", strings.Repeat("x", 1000+c%4000)) // records of varying size
				return nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, "do:", err)
				return 1
			}
			fmt.Fprintln(out, c)
			out.Flush()
		}
	case "read":
		// Read-only turns every 50 ms, printing "ok" after each, until killed.
		for {
			err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
				s.Get("n")
				return nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, "do:", err)
				return 1
			}
			fmt.Println("ok")
			time.Sleep(50 * time.Millisecond) // the pace of a browsing user
		}
	case "once":
		// One read-only turn, timed; prints the duration in microseconds.
		start := time.Now()
		err := eng.Do(ctx, id, func(context.Context, *engine.Session) error { return nil })
		if err != nil {
			fmt.Fprintln(os.Stderr, "do:", err)
			return 1
		}
		fmt.Println(time.Since(start).Microseconds())
	case "owner":
		return ownerChild(eng)
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 2
	}
	return 0
}
