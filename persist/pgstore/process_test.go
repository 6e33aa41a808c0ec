//go:build unix

package pgstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/pgstore"
)

// runChild runs a child role (a real process with its own pool, Store and
// engine, like a second host) and returns the exit code.
func runChild(role string) int {
	id := os.Getenv("LOCKSTEP_ID")
	n, _ := strconv.Atoi(os.Getenv("LOCKSTEP_N"))
	lease, _ := time.ParseDuration(os.Getenv("LOCKSTEP_LEASE"))
	ctx := context.Background()
	pool, err := newPool(os.Getenv("LOCKSTEP_PG_DSN"), os.Getenv("LOCKSTEP_PG_SIMPLE") == "1")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pool:", err)
		return 2
	}
	defer pool.Close()
	store, err := pgstore.New(ctx, pool, pgstore.Config{Table: os.Getenv("LOCKSTEP_PG_TABLE"), LeaseTTL: lease})
	if err != nil {
		fmt.Fprintln(os.Stderr, "store:", err)
		return 2
	}
	defer store.Close()
	eng, err := engine.New(store, engine.Config{LockTimeout: time.Minute, PassivateAfter: time.Hour, SweepInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "engine:", err)
		return 2
	}
	defer eng.Close()
	switch role {
	case "increment":
		// Say so, wait for the word, then increment: the children overlap.
		fmt.Println("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			fmt.Fprintln(os.Stderr, "stdin:", err)
			return 1
		}
		for range n {
			if err := incr(ctx, eng, id); err != nil {
				fmt.Fprintln(os.Stderr, "do:", err)
				return 1
			}
		}
		fmt.Println("handovers", eng.Stats().HandOversTaken)
	case "hold":
		// Take the session, say so, and keep it until killed.
		err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.Set("n", 7)
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "do:", err)
			return 1
		}
		fmt.Println("held")
		_, _ = io.Copy(io.Discard, os.Stdin)
	case "stall":
		// Change the session inside a turn that waits for a line on stdin,
		// then report how the turn's commit went.
		err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.Set("n", -1)
			fmt.Println("in turn")
			_, err := bufio.NewReader(os.Stdin).ReadString('\n')
			return err
		})
		switch {
		case errors.Is(err, persist.ErrLockLost):
			fmt.Println("lost")
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Println("committed")
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 2
	}
	return 0
}
