//go:build unix

package enginekit

import (
	"context"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
)

// PausedHolderCannotOverwrite checks that c (a child in role "stall" of
// RunHolderRole, with a short lease), paused (SIGSTOP) inside its turn,
// loses the session id to an engine that newEngine returns once its lease
// runs out, and when it resumes and ends the turn, writes nothing: its
// commit fails with "lost".
func PausedHolderCannotOverwrite(t testing.TB, c *testkit.Child, newEngine func() *engine.Engine, id string) {
	t.Helper()
	require.Equal(t, "in turn", c.Line(t))
	require.NoError(t, c.Signal(syscall.SIGSTOP))

	// This engine gets the session once the paused holder's lease runs out.
	e := newEngine()
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set("n", 100)
		return nil
	}))

	require.NoError(t, c.Signal(syscall.SIGCONT))
	require.NoError(t, c.Send("go on"))
	require.Equal(t, "lost", c.Line(t))
	require.NoError(t, c.Wait())
	assert.Equal(t, 100, Counter(t, e, id), "the resumed holder wrote nothing")
}
