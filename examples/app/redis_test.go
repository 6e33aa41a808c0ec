package main

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

// TestTwoHostsOverRedis runs two instances of the app over one Redis
// server (-redis), as two hosts behind a load balancer would: one browser
// whose requests go to either host, one after the other and at once, loses
// no increment.
func TestTwoHostsOverRedis(t *testing.T) {
	r := testkit.StartRedis(t)
	var hosts [2]*client
	var first *client
	for i := range hosts {
		eng, where, closeAll, err := openEngine("", r.Addr, nil)
		require.NoError(t, err)
		assert.Equal(t, "redis://"+r.Addr, where)
		srv := httptest.NewServer(newHandler(eng, time.Millisecond, nil))
		t.Cleanup(func() {
			srv.Close()
			assert.NoError(t, closeAll())
		})
		if first == nil {
			first = newClient(t, srv)
			hosts[i] = first
		} else { // the same browser: its cookie jar goes to every host of 127.0.0.1
			hosts[i] = &client{t: t, srv: srv, c: first.c}
		}
	}

	increment := func(c *client) int {
		code, body := c.do(http.MethodPost, "/visits", nil)
		require.Equal(t, http.StatusOK, code, body)
		return visitsOf(t, body)
	}
	for i := range 10 {
		assert.Equal(t, i+1, increment(hosts[i%2]), "increment %d on host %d", i+1, i%2)
	}
	require.NotEmpty(t, first.cookie(), "no session cookie")

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { increment(hosts[i%2]) })
	}
	wg.Wait()
	for _, h := range hosts {
		assert.Equal(t, 30, visitsOf(t, h.get("/visits")), "host %s", h.srv.URL)
	}
}
