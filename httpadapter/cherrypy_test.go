package httpadapter_test

// The tests of CherryPy's own session suite (cherrypy/test/test_session.py),
// in Go.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
	"github.com/lockstep-go/lockstep/internal/testkit"
)

func TestCounterAcrossRequests(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			eng := newEngine(t, engine.Config{})
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(app())
			var cookie, first string
			for i := 1; i <= 3; i++ {
				var body string
				body, cookie = get(t, h, "/count", cookie)
				if want := strconv.Itoa(i); body != want {
					t.Fatalf("request %d: counter %s, want %s", i, body, want)
				}
				if first == "" {
					first = cookie
				}
				if cookie != first {
					t.Fatalf("request %d: cookie %q, want %q (the ID must not change)", i, cookie, first)
				}
			}
		})
	}
}

func TestCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        httpadapter.Config
		tls        bool
		maxAge     int // want; 0 for none
		secure     bool
		sameSite   http.SameSite
		domain     string
		cookieName string
	}{
		{name: "persistent", maxAge: 3600, sameSite: http.SameSiteLaxMode},
		{name: "browser session", cfg: httpadapter.Config{BrowserSession: true}, sameSite: http.SameSiteLaxMode},
		{name: "secure configured", cfg: httpadapter.Config{Secure: true}, maxAge: 3600, secure: true, sameSite: http.SameSiteLaxMode},
		{name: "TLS", tls: true, maxAge: 3600, secure: true, sameSite: http.SameSiteLaxMode},
		{name: "TLS browser session", tls: true, cfg: httpadapter.Config{BrowserSession: true}, secure: true, sameSite: http.SameSiteLaxMode},
		{name: "strict with domain", cfg: httpadapter.Config{SameSite: http.SameSiteStrictMode, Domain: "example.com", Path: "/app"},
			maxAge: 3600, sameSite: http.SameSiteStrictMode, domain: "example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := newEngine(t, engine.Config{IdleTimeout: time.Hour})
			h := httpadapter.Middleware(eng, tc.cfg)(app())
			var srv *httptest.Server
			if tc.tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL + "/count")
			if err != nil {
				t.Fatal(err)
			}
			res := toResult(t, resp)
			c := res.cookie
			if c == nil {
				t.Fatalf("no session cookie; header %v", res.header)
			}
			if !engine.ValidID(c.Value) {
				t.Errorf("cookie value %q is not a session ID", c.Value)
			}
			wantPath := tc.cfg.Path
			if wantPath == "" {
				wantPath = "/"
			}
			if c.Path != wantPath {
				t.Errorf("Path %q, want %q", c.Path, wantPath)
			}
			if c.Domain != tc.domain {
				t.Errorf("Domain %q, want %q", c.Domain, tc.domain)
			}
			if !c.HttpOnly {
				t.Error("HttpOnly missing")
			}
			if c.Secure != tc.secure {
				t.Errorf("Secure %v, want %v", c.Secure, tc.secure)
			}
			if c.SameSite != tc.sameSite {
				t.Errorf("SameSite %v, want %v", c.SameSite, tc.sameSite)
			}
			if c.MaxAge != tc.maxAge {
				t.Errorf("Max-Age %d, want %d (raw %q)", c.MaxAge, tc.maxAge, c.Raw)
			}
			if !c.Expires.IsZero() {
				t.Errorf("Expires %v, want none", c.Expires)
			}
			if got := res.header.Get("Vary"); got != "Cookie" {
				t.Errorf("Vary %q, want Cookie", got)
			}
			if got := res.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}

			// The next response of a request that uses the session slides
			// Max-Age (a persistent cookie), or sets nothing (a browser
			// session's cookie has nothing to refresh).
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/read", nil)
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			resp, err = srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res = toResult(t, resp)
			if res.body != "1" {
				t.Errorf("second request: counter %s, want 1", res.body)
			}
			switch {
			case tc.maxAge > 0 && (res.cookie == nil || res.cookie.Value != c.Value || res.cookie.MaxAge != tc.maxAge):
				t.Errorf("second request: cookie %v, want the same cookie refreshed", res.cookie)
			case tc.maxAge == 0 && res.cookie != nil:
				t.Errorf("second request: cookie %v set, want none for a browser session", res.cookie)
			}
		})
	}
}

func TestMaliciousID(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			eng := newEngine(t, engine.Config{})
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(app())
			unknown := strings.Repeat("A", 43) // well-formed, never created
			for _, forged := range []string{"maliciousid", unknown} {
				cookie := "session_id=" + forged
				// A read sees no session and sets no cookie.
				res := serve(t, h, "/id", cookie)
				if res.code != http.StatusOK || res.body != "" || res.cookie != nil {
					t.Errorf("read with %s: %d %q cookie %v, want 200, no session, no cookie", forged, res.code, res.body, res.cookie)
				}
				// A write creates a fresh session: the forged ID is not adopted.
				res = serve(t, h, "/count", cookie)
				if res.code != http.StatusOK || res.body != "1" {
					t.Fatalf("write with %s: %d %q, want 200 1", forged, res.code, res.body)
				}
				if res.cookie == nil || res.cookie.Value == forged || !engine.ValidID(res.cookie.Value) {
					t.Fatalf("write with %s: cookie %v, want a fresh ID", forged, res.cookie)
				}
				// And the forged ID still names nothing.
				if res := serve(t, h, "/read", cookie); res.body != "0" {
					t.Errorf("forged ID %s after the write: counter %s, want 0", forged, res.body)
				}
			}
		})
	}
}

func TestSessionFileDeleted(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := engine.Config{SweepInterval: -1}
			eng, err := engine.Open(dir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(app())
			_, cookie := get(t, h, "/count", "")
			body, cookie := get(t, h, "/count", cookie)
			if body != "2" {
				t.Fatalf("counter %s, want 2", body)
			}
			id := strings.TrimPrefix(cookie, "session_id=")
			// Restart (the session is passivated) and delete its file.
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(testkit.RecordPath(dir, id)); err != nil {
				t.Fatal(err)
			}
			eng, err = engine.Open(dir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			h = httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(app())
			if res := serve(t, h, "/read", cookie); res.code != http.StatusOK || res.body != "0" || res.cookie != nil {
				t.Errorf("read after delete: %d %q cookie %v, want 200 0 and no cookie", res.code, res.body, res.cookie)
			}
			body, next := get(t, h, "/count", cookie)
			if body != "1" || next == cookie || next == "" {
				t.Errorf("write after delete: counter %s cookie %q, want 1 with a new cookie (old %q)", body, next, cookie)
			}

			// Deleted while the session is resident: the request still succeeds.
			body, cookie = get(t, h, "/count", next)
			if body != "2" {
				t.Fatalf("counter %s, want 2", body)
			}
			if err := os.Remove(testkit.RecordPath(dir, strings.TrimPrefix(cookie, "session_id="))); err != nil {
				t.Fatal(err)
			}
			if res := serve(t, h, "/count", cookie); res.code != http.StatusOK {
				t.Errorf("write after deleting a resident session's file: %d %s, want 200", res.code, res.body)
			}
		})
	}
}

func TestErrorPathsReleaseTurn(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			// If a path left the turn held, the next request would wait the
			// whole LockTimeout and get 503.
			eng := newEngine(t, engine.Config{LockTimeout: 5 * time.Second})
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(app())
			_, cookie := create(t, eng, 0)
			for _, tc := range []struct {
				method, path string
				code         int
			}{
				{http.MethodGet, "/nowhere", http.StatusNotFound},
				{http.MethodPost, "/count", http.StatusMethodNotAllowed},
				{http.MethodGet, "/404", http.StatusNotFound}, // took the turn, then 404
				{http.MethodGet, "/count", http.StatusOK},
			} {
				req := httptest.NewRequest(tc.method, tc.path, nil)
				req.Header.Set("Cookie", cookie)
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, req)
				if rec.Code != tc.code {
					t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.code)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("%s %s took %v: it waited for a turn left held", tc.method, tc.path, d)
				}
			}
			if eng.Stats().Active != 1 {
				t.Errorf("Active %d, want 1", eng.Stats().Active)
			}
			if body, _ := get(t, h, "/read", cookie); body != "2" {
				t.Errorf("counter %s, want 2 (/404 and /count each added 1)", body)
			}
		})
	}
}

func TestRegenerate(t *testing.T) {
	for _, mode := range modes() {
		for _, browser := range []bool{false, true} {
			t.Run(mode.String()+"/BrowserSession="+strconv.FormatBool(browser), func(t *testing.T) {
				eng := newEngine(t, engine.Config{})
				h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode, BrowserSession: browser})(app())
				_, old := get(t, h, "/count", "")
				res := serve(t, h, "/login", old)
				if res.code != http.StatusOK || res.body != "2" {
					t.Fatalf("login: %d %q, want 200 2", res.code, res.body)
				}
				c := res.cookie
				if c == nil || "session_id="+c.Value == old || !engine.ValidID(c.Value) {
					t.Fatalf("login: cookie %v, want a new ID (old %s)", c, old)
				}
				if want := map[bool]int{false: 3600, true: 0}[browser]; c.MaxAge != want || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
					t.Errorf("login: cookie %q lost its attributes (want Max-Age %d)", c.Raw, want)
				}
				cookie := "session_id=" + c.Value
				if body, _ := get(t, h, "/read", cookie); body != "2" {
					t.Errorf("new ID: counter %s, want 2 (the data moves)", body)
				}
				// The old ID is dead: a request with it sees an empty session.
				if res := serve(t, h, "/id", old); res.body != "" || res.cookie != nil {
					t.Errorf("old ID: session %q cookie %v, want none", res.body, res.cookie)
				}
				if body, _ := get(t, h, "/read", old); body != "0" {
					t.Errorf("old ID: counter %s, want 0", body)
				}
			})
		}
	}
}

func TestDestroy(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			eng := newEngine(t, engine.Config{})
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(app())
			_, cookie := get(t, h, "/count", "")
			res := serve(t, h, "/logout", cookie)
			if res.code != http.StatusOK {
				t.Fatalf("logout: %d %s", res.code, res.body)
			}
			if c := res.cookie; c == nil || c.MaxAge >= 0 || c.Value != "" {
				t.Fatalf("logout: cookie %v, want it expired", c)
			}
			if !strings.Contains(res.cookie.Raw, "Max-Age=0") || !strings.Contains(res.cookie.Raw, "Expires=") {
				t.Errorf("logout: cookie %q, want Max-Age=0 and an Expires in the past", res.cookie.Raw)
			}
			if res := serve(t, h, "/id", cookie); res.body != "" || res.cookie != nil {
				t.Errorf("destroyed ID: session %q cookie %v, want none", res.body, res.cookie)
			}
			// Logging out without a session only clears the cookie sent.
			if res := serve(t, h, "/logout", ""); res.code != http.StatusOK || res.cookie != nil {
				t.Errorf("logout without a cookie: %d cookie %v, want 200 and no cookie", res.code, res.cookie)
			}
			if res := serve(t, h, "/logout", "session_id=maliciousid"); res.code != http.StatusOK || res.cookie == nil || res.cookie.MaxAge >= 0 {
				t.Errorf("logout with a forged cookie: %d cookie %v, want 200 and the cookie expired", res.code, res.cookie)
			}
		})
	}
}

// TestConcurrentCounter is CherryPy's test_5_Concurrency: 5 clients make 30
// requests each on one session, each reading the counter, working 10 ms
// and writing it back. No update may be lost.
func TestConcurrentCounter(t *testing.T) {
	for _, tc := range []struct {
		mode httpadapter.Locking
		path string
	}{
		{httpadapter.Implicit, "/slow"},          // the turn spans both Do calls
		{httpadapter.Explicit, "/slow-explicit"}, // read, work and write in one Do
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			t.Parallel()
			eng, _ := openEngine(t, engine.Config{})
			srv := httptest.NewServer(httpadapter.Middleware(eng, httpadapter.Config{Locking: tc.mode})(app()))
			defer srv.Close()
			client := srv.Client()
			fetch := func(cookie string) (string, *http.Cookie, error) {
				req, err := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
				if err != nil {
					return "", nil, err
				}
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				resp, err := client.Do(req)
				if err != nil {
					return "", nil, err
				}
				res := toResult(t, resp)
				if res.code != http.StatusOK {
					return "", nil, fmt.Errorf("%d %s", res.code, res.body)
				}
				return res.body, res.cookie, nil
			}
			body, c, err := fetch("")
			if err != nil || body != "1" || c == nil {
				t.Fatalf("first request: %q %v %v, want 1 and a cookie", body, c, err)
			}
			cookie := "session_id=" + c.Value
			const clients, requests = 5, 30
			errs := make(chan error, clients*requests)
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for range requests {
						if _, _, err := fetch(cookie); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			var n int
			if err := eng.Do(t.Context(), c.Value, func(ctx context.Context, s *engine.Session) error {
				n = counter(s)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if n != 1+clients*requests {
				t.Errorf("counter %d, want %d", n, 1+clients*requests)
			}
		})
	}
}
