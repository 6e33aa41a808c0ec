//go:build unix

package testkit_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

// accepts reports whether something accepts connections on port.
func accepts(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func TestPostgresAndPgBouncerStartStopAndRestart(t *testing.T) {
	pg := testkit.StartPostgres(t)
	b := testkit.StartPgBouncer(t, pg)
	require.True(t, accepts(pg.Port), "postgres on port %d: got no listener, want one", pg.Port)
	require.True(t, accepts(b.Port), "pgbouncer on port %d: got no listener, want one", b.Port)
	require.NoError(t, pg.Pause())
	require.NoError(t, pg.Resume())
	pg.Stop()
	require.False(t, accepts(pg.Port), "postgres after Stop: got a listener, want none")
	pg.Restart(t)
	require.True(t, accepts(pg.Port), "postgres after Restart: got no listener, want one")
}
