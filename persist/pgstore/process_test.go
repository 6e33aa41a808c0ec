//go:build unix

package pgstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit/enginekit"
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
	if code, ok := enginekit.RunHolderRole(ctx, eng, id, role); ok {
		return code
	}
	switch role {
	case "increment":
		// Say so, wait for the word, then increment: the children overlap.
		fmt.Println("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			fmt.Fprintln(os.Stderr, "stdin:", err)
			return 1
		}
		for range n {
			if err := enginekit.Incr(ctx, eng, id); err != nil {
				fmt.Fprintln(os.Stderr, "do:", err)
				return 1
			}
		}
		fmt.Println("handovers", eng.Stats().HandOversTaken)
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 2
	}
	return 0
}
