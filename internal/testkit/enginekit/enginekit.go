package enginekit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
)

// Incr increments the counter "n" of session id in one turn of e.
func Incr(ctx context.Context, e *engine.Engine, id string) error {
	return e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		n, _ := engine.Get[int](s, "n")
		s.Set("n", n+1)
		return nil
	})
}

// Counter returns the counter "n" of session id, read in a turn of e.
func Counter(t testing.TB, e *engine.Engine, id string) int {
	t.Helper()
	var n int
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		n, _ = engine.Get[int](s, "n")
		return nil
	}))
	return n
}

// IncrementTogether has goroutines goroutines of every one of es increment
// a session that es[0] creates, each times each, and checks that every
// engine then reads every increment.
func IncrementTogether(t testing.TB, goroutines, each int, es ...*engine.Engine) {
	t.Helper()
	ctx := context.Background()
	id, err := es[0].Create(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, len(es)*goroutines*each)
	for _, e := range es {
		for range goroutines {
			wg.Go(func() {
				for range each {
					if err := Incr(ctx, e, id); err != nil {
						errs <- err
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, e := range es {
		assert.Equal(t, len(es)*goroutines*each, Counter(t, e, id), "counter read by engine %d", i)
	}
}

// RunHolderRole runs the child role that a test of a holder's death or
// pause starts, on session id of eng, and returns the exit code; ok is false
// for a role it does not know (nothing is run). Role "hold" sets the
// counter to 7 in a turn, prints "held" and keeps the session until stdin
// closes or the process is killed. Role "stall" sets it to -1 in a turn
// that prints "in turn" and waits for a line on stdin, then prints how the
// turn's commit went: "lost" (persist.ErrLockLost), "error: ..." or
// "committed".
func RunHolderRole(ctx context.Context, eng *engine.Engine, id, role string) (code int, ok bool) {
	switch role {
	case "hold":
		err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.Set("n", 7)
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "do:", err)
			return 1, true
		}
		fmt.Println("held")
		_, _ = io.Copy(io.Discard, os.Stdin)
	case "stall":
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
		return 0, false
	}
	return 0, true
}

// Holder is a child process that holds a session, for the checks of a
// holder's death or pause.
type Holder struct {
	Child     *testkit.Child        // in a role of RunHolderRole, with a short lease
	NewEngine func() *engine.Engine // makes an engine of the test's that takes the session over
	ID        string                // the session
}

// KilledHolderIsTakenOver checks that the session of h (its child in role
// "hold") is taken over once the child is killed (kill -9: no release, no
// hand-over) and its lease runs out: an engine that h.NewEngine returns
// then reads the holder's last commit.
func KilledHolderIsTakenOver(t testing.TB, h Holder) {
	t.Helper()
	require.Equal(t, "held", h.Child.Line(t))
	require.NoError(t, h.Child.Kill())
	_ = h.Child.Wait()

	// The request to hand over goes unanswered; the lease runs out.
	e := h.NewEngine()
	assert.Equal(t, 7, Counter(t, e, h.ID), "the dead holder's last commit")
}
