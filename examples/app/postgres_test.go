//go:build unix

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

// TestTwoHostsOverPostgres runs two instances of the app over one
// PostgreSQL database (-postgres): one browser whose requests go to either
// host loses no increment.
func TestTwoHostsOverPostgres(t *testing.T) {
	pg := testkit.StartPostgres(t)
	var hosts [2]*client
	for i := range hosts {
		eng, where, closeAll, err := openBackend(context.Background(), "", "", pg.DSN(), nil)
		require.NoError(t, err)
		assert.Equal(t, "postgres://127.0.0.1/postgres", where)
		srv := httptest.NewServer(newHandler(eng, time.Millisecond, nil))
		t.Cleanup(func() {
			srv.Close()
			assert.NoError(t, closeAll())
		})
		if i == 0 {
			hosts[i] = newClient(t, srv)
		} else { // the same browser: its cookie jar goes to every host of 127.0.0.1
			hosts[i] = &client{t: t, srv: srv, c: hosts[0].c}
		}
	}
	for i := range 10 {
		code, body := hosts[i%2].do(http.MethodPost, "/visits", nil)
		require.Equal(t, http.StatusOK, code, body)
		assert.Equal(t, i+1, visitsOf(t, body), "increment %d on host %d", i+1, i%2)
	}
}
