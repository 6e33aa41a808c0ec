package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cookieName is the session cookie of every system (scs's is renamed to it).
const cookieName = "session_id"

// benchApp is the application every system serves in the HTTP workloads.
// work is the handler's "work" between reading and writing the counter;
// when each work began and ended (the sleep and the wake-up after it) is
// recorded in log.
func benchApp(work time.Duration, log *workLog) App {
	sleep := func() {
		t0 := time.Now()
		time.Sleep(work)
		log.add(t0, time.Now())
	}
	return func(r *http.Request, s Values) string {
		switch r.URL.Path {
		case "/read": // read-only
			return itoa(counter(s))
		case "/write": // increment; the first request of a session creates it with 1
			n := counter(s) + 1
			s.Set(counterKey, n)
			return itoa(n)
		case "/slow": // CherryPy's concurrency test: read, work, write
			n := counter(s)
			sleep()
			s.Set(counterKey, n+1)
			return itoa(n + 1)
		case "/add": // lost-updates: as /slow, and add a key of the request's own
			n := counter(s)
			sleep()
			s.Set(counterKey, n+1)
			s.Set("key-"+r.URL.Query().Get("k"), true)
			return itoa(n + 1)
		case "/stat":
			return itoa(counter(s)) + " " + itoa(s.Len())
		}
		return ""
	}
}

// A workLog records when each request's work began and ended. It is safe
// for concurrent use.
type workLog struct {
	mu    sync.Mutex
	spans []workSpan
}

// A workSpan is one request's work.
type workSpan struct{ start, end time.Time }

func (l *workLog) add(start, end time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spans = append(l.spans, workSpan{start, end})
}

// all returns the spans recorded so far.
func (l *workLog) all() []workSpan {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.spans)
}

// client is a keep-alive HTTP client for one loopback server. It keeps no
// cookie jar: each call names the session cookie to send.
type client struct {
	base string
	tr   *http.Transport
	hc   *http.Client
}

func newClient(base string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &client{base: base, tr: tr, hc: &http.Client{Transport: tr}}
}

func (c *client) close() { c.tr.CloseIdleConnections() }

// get requests path with the session cookie (a "name=value" header, or "")
// and returns the body and the cookie to send next time.
func (c *client) get(ctx context.Context, path, cookie string) (string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return "", "", err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == cookieName && ck.Value != "" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	return string(body), cookie, nil
}

// getInt is get for the paths that answer with a number.
func (c *client) getInt(ctx context.Context, path, cookie string) (int, error) {
	body, _, err := c.get(ctx, path, cookie)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.Fields(body + " x")[0])
}

// A served system is one instance behind a loopback server running
// benchApp, and a client for it.
type served struct {
	*client
	work workLog // the app's work (benchApp)
	stop func()
}

// serveSystem opens the system called name, serves it on loopback with a
// client of conns connections; stop undoes it all.
func (e *env) serveSystem(name string, conns int) (*served, error) {
	inst, _, closeInst, err := e.open(name)
	if err != nil {
		return nil, err
	}
	s := &served{}
	srv := httptest.NewServer(inst.Handler(benchApp(e.p.Work, &s.work)))
	s.client = newClient(srv.URL, conns)
	s.stop = func() {
		s.client.close()
		srv.Close()
		closeInst()
	}
	return s, nil
}

// newSessions creates n sessions through the server (a first /write each,
// leaving counter = 1) and returns their cookies.
func (c *client) newSessions(ctx context.Context, n int) ([]string, error) {
	cookies := make([]string, n)
	for i := range cookies {
		_, ck, err := c.get(ctx, "/write", "")
		if err != nil {
			return nil, err
		}
		if ck == "" {
			return nil, fmt.Errorf("no session cookie set")
		}
		cookies[i] = ck
	}
	return cookies, nil
}

// runHTTP measures full round trips to path through each system's
// middleware: requests per second from HTTPClients keep-alive connections,
// on one session and spread over ManySessions sessions.
func runHTTP(path string) func(context.Context, *env, string) error {
	return func(ctx context.Context, e *env, name string) error {
		c, err := e.serveSystem(name, e.p.HTTPClients)
		if err != nil {
			return err
		}
		defer c.stop()

		for _, m := range []struct {
			metric   string
			sessions int
		}{{"one-session", 1}, {"many-sessions", e.p.ManySessions}} {
			cookies, err := c.newSessions(ctx, m.sessions)
			if err != nil {
				return err
			}
			rps, err := c.load(ctx, path, cookies, e.p.HTTPClients, e.p.HTTPRequests, e.p.HTTPTime)
			if err != nil {
				return err
			}
			e.rs.Add("http"+strings.ReplaceAll(path, "/", "-"), name, m.metric, rps, "req/s")
		}
		return nil
	}
}

// load sends at most max requests to path from conns goroutines, for at
// most limit, the i-th with cookies[i%len(cookies)], and returns the
// completed requests per second.
func (c *client) load(ctx context.Context, path string, cookies []string, conns, max int, limit time.Duration) (float64, error) {
	var (
		next, completed atomic.Int64
		wg              sync.WaitGroup
		mu              sync.Mutex
		firstErr        error
	)
	start := time.Now()
	deadline := start.Add(limit)
	for range conns {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(max) || time.Now().After(deadline) {
					return
				}
				if _, _, err := c.get(ctx, path, cookies[i%int64(len(cookies))]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				completed.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(completed.Load()) / elapsed.Seconds(), nil
}
