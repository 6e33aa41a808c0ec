package testkit

import (
	"io"
	"net/http"
	"sync"
	"testing"
)

// AtOnce runs fn on n goroutines of its own, released at the same moment,
// and returns when every one has returned.
func AtOnce(n int, fn func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			fn()
		})
	}
	close(start)
	wg.Wait()
}

// GetAtOnce sends n GET requests to url with client, all released at the
// same moment from goroutines of their own, and returns their bodies (in
// no particular order). A request that fails, or answers other than 200
// OK, is reported on t; its body, if any, is still returned. prepare, if
// not nil, adjusts each request (a cookie, say) before it is sent.
func GetAtOnce(t testing.TB, client *http.Client, url string, n int, prepare func(*http.Request)) []string {
	t.Helper()
	bodies := make(chan string, n)
	AtOnce(n, func() {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Error(err)
			return
		}
		if prepare != nil {
			prepare(req)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s (%v)", url, resp.StatusCode, b, err)
		}
		bodies <- string(b)
	})
	close(bodies)
	var all []string
	for b := range bodies {
		all = append(all, b)
	}
	return all
}
