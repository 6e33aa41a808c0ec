//go:build unix

package enginekit

import (
	"context"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
)

// PausedHolderCannotOverwrite checks that the child of h (in role "stall"),
// paused (SIGSTOP) inside its turn, loses the session to an engine that
// h.NewEngine returns once its lease runs out, and when it resumes and ends
// the turn, writes nothing: its commit fails with "lost".
func PausedHolderCannotOverwrite(t testing.TB, h Holder) {
	t.Helper()
	c := h.Child
	require.Equal(t, "in turn", c.Line(t))
	require.NoError(t, c.Signal(syscall.SIGSTOP))

	// This engine gets the session once the paused holder's lease runs out.
	e := h.NewEngine()
	require.NoError(t, e.Do(context.Background(), h.ID, func(_ context.Context, s *engine.Session) error {
		s.Set("n", 100)
		return nil
	}))

	require.NoError(t, c.Signal(syscall.SIGCONT))
	require.NoError(t, c.Send("go on"))
	require.Equal(t, "lost", c.Line(t))
	require.NoError(t, c.Wait())
	assert.Equal(t, 100, Counter(t, e, h.ID), "the resumed holder wrote nothing")
}
