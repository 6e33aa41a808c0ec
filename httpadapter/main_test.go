package httpadapter_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
	"github.com/lockstep-go/lockstep/persist"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const counterKey = "n"

// newEngine returns an engine over a memory store, closed at the end of
// the test.
func newEngine(tb testing.TB, cfg engine.Config) *engine.Engine {
	tb.Helper()
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = -1
	}
	eng, err := engine.New(persist.NewMemory(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := eng.Close(); err != nil {
			tb.Error(err)
		}
	})
	return eng
}

// openEngine returns an engine over a file store in a fresh directory,
// closed at the end of the test.
func openEngine(tb testing.TB, cfg engine.Config) (*engine.Engine, string) {
	tb.Helper()
	dir := tb.TempDir()
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = -1
	}
	eng, err := engine.Open(dir, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := eng.Close(); err != nil {
			tb.Error(err)
		}
	})
	return eng, dir
}

// counter returns the session's counter.
func counter(s *engine.Session) int {
	v, _ := s.Get(counterKey)
	n, _ := v.(int)
	return n
}

// app is the test application:
//
//	GET /count   increments the counter and answers it
//	GET /read    answers the counter, read-only
//	GET /id      answers the session's ID as Do sees it, read-only
//	GET /login   increments, then regenerates the ID
//	GET /logout  destroys the session
//	GET /slow    CherryPy's concurrency handler: read, 10 ms of work, write
//	GET /404     uses the session, then answers 404
func app() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		var n int
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			n = counter(s) + 1
			s.Set(counterKey, n)
			return nil
		})
		reply(w, r, err, n)
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		var n int
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			n = counter(s)
			return nil
		})
		reply(w, r, err, n)
	})
	mux.HandleFunc("GET /id", func(w http.ResponseWriter, r *http.Request) {
		var id string
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			id = s.ID()
			return nil
		})
		reply(w, r, err, id)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		var n int
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			n = counter(s) + 1
			s.Set(counterKey, n)
			return nil
		})
		if err == nil {
			err = httpadapter.Regenerate(r)
		}
		reply(w, r, err, n)
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		reply(w, r, httpadapter.Destroy(r), "bye")
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		var n int
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			n = counter(s)
			return nil
		})
		if err != nil {
			reply(w, r, err, nil)
			return
		}
		time.Sleep(10 * time.Millisecond) // the handler's "work"
		err = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			n = counter(s) + 1 // Implicit: the turn is held since the first Do
			s.Set(counterKey, n)
			return nil
		})
		reply(w, r, err, n)
	})
	mux.HandleFunc("GET /slow-explicit", func(w http.ResponseWriter, r *http.Request) {
		var n int
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			n = counter(s)
			time.Sleep(10 * time.Millisecond) // the handler's "work", in the turn
			n++
			s.Set(counterKey, n)
			return nil
		})
		reply(w, r, err, n)
	})
	mux.HandleFunc("GET /404", func(w http.ResponseWriter, r *http.Request) {
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set(counterKey, counter(s)+1)
			return nil
		})
		if err != nil {
			reply(w, r, err, nil)
			return
		}
		http.NotFound(w, r)
	})
	return mux
}

func reply(w http.ResponseWriter, r *http.Request, err error, v any) {
	if err != nil {
		httpadapter.Error(w, r, err)
		return
	}
	fmt.Fprint(w, v)
}

// result is what a test request got back.
type result struct {
	code   int
	body   string
	header http.Header
	cookie *http.Cookie // the session cookie set, or nil
}

// serve runs one request through h (directly, no network) with the given
// Cookie header.
func serve(t testing.TB, h http.Handler, path, cookie string) result {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return toResult(t, rec.Result())
}

func toResult(t testing.TB, resp *http.Response) result {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := result{code: resp.StatusCode, body: strings.TrimSpace(string(body)), header: resp.Header}
	var n int
	for _, c := range resp.Cookies() {
		if c.Name == httpadapter.DefaultCookieName {
			res.cookie = c
			n++
		}
	}
	if n > 1 {
		t.Errorf("%d session cookies set, want at most 1", n)
	}
	return res
}

// get is serve that fails the test unless the answer is 200, and returns
// the cookie header to send next: the new cookie if one was set.
func get(t testing.TB, h http.Handler, path, cookie string) (string, string) {
	t.Helper()
	res := serve(t, h, path, cookie)
	if res.code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.code, res.body)
	}
	if res.cookie != nil {
		if res.cookie.MaxAge < 0 {
			cookie = ""
		} else {
			cookie = res.cookie.Name + "=" + res.cookie.Value
		}
	}
	return res.body, cookie
}

func modes() []httpadapter.Locking {
	return []httpadapter.Locking{httpadapter.Implicit, httpadapter.Explicit}
}

// create makes a session with counter n directly in the engine and returns
// its cookie header.
func create(t testing.TB, eng *engine.Engine, n int) (id, cookie string) {
	t.Helper()
	ctx := context.Background()
	id, err := eng.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Do(ctx, id, func(ctx context.Context, s *engine.Session) error {
		s.Set(counterKey, n)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return id, httpadapter.DefaultCookieName + "=" + id
}

// httptestServe runs a GET of path without a cookie through h.
func httptestServe(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}
