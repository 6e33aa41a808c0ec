package httpadapter_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// holdApp serves /hold, which sets the counter to 1 in a Do, says so on
// held, waits for release outside Do, then sets it to 2; and /read.
func holdApp(held, release chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		set := func(n int) error {
			return httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
				s.Set(counterKey, n)
				return nil
			})
		}
		if err := set(1); err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		held <- struct{}{}
		<-release
		reply(w, r, set(2), 2)
	})
	mux.Handle("/read", app())
	return mux
}

// runAsync serves a request on its own goroutine; the result arrives on
// the channel returned.
func runAsync(t *testing.T, h http.Handler, path, cookie string) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- serve(t, h, path, cookie) }()
	return ch
}

func TestExplicitOverlaps(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	held, release := make(chan struct{}), make(chan struct{})
	h := httpadapter.Middleware(eng, httpadapter.Config{Locking: httpadapter.Explicit})(holdApp(held, release))
	_, cookie := create(t, eng, 0)
	a := runAsync(t, h, "/hold", cookie)
	<-held
	// A is inside its handler, outside Do: B runs to the end meanwhile.
	b := <-runAsync(t, h, "/read", cookie)
	if b.code != http.StatusOK || b.body != "1" {
		t.Errorf("B: %d %q, want 200 1 (A's first Do committed)", b.code, b.body)
	}
	close(release)
	if a := <-a; a.code != http.StatusOK {
		t.Errorf("A: %d %s", a.code, a.body)
	}
}

func TestImplicitSerialises(t *testing.T) {
	// B cannot get the turn while A holds it, outside Do: with a short
	// LockTimeout it gives up (had it not waited, it would answer 200).
	eng := newEngine(t, engine.Config{LockTimeout: 20 * time.Millisecond})
	held, release := make(chan struct{}), make(chan struct{})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(holdApp(held, release))
	_, cookie := create(t, eng, 0)
	a := runAsync(t, h, "/hold", cookie)
	<-held
	if b := serve(t, h, "/read", cookie); b.code != http.StatusServiceUnavailable {
		t.Errorf("B while A holds the turn: %d %q, want 503 (lock timeout)", b.code, b.body)
	}
	close(release)
	if a := <-a; a.code != http.StatusOK {
		t.Errorf("A: %d %s", a.code, a.body)
	}

	// With a LockTimeout long enough, B waits for the whole of A.
	eng = newEngine(t, engine.Config{LockTimeout: time.Minute})
	held, release = make(chan struct{}), make(chan struct{})
	h = httpadapter.Middleware(eng, httpadapter.Config{})(holdApp(held, release))
	_, cookie = create(t, eng, 0)
	a = runAsync(t, h, "/hold", cookie)
	<-held
	b := runAsync(t, h, "/read", cookie)
	close(release)
	if a := <-a; a.code != http.StatusOK {
		t.Errorf("A: %d %s", a.code, a.body)
	}
	if b := <-b; b.code != http.StatusOK || b.body != "2" {
		t.Errorf("B: %d %q, want 200 2 (after the whole of A)", b.code, b.body)
	}
}

func TestNestedDo(t *testing.T) {
	for _, mode := range modes() {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/existing=%v", mode, existing), func(t *testing.T) {
				eng := newEngine(t, engine.Config{LockTimeout: 5 * time.Second})
				var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
						s.Set("outer", true)
						return httpadapter.Do(r, func(ctx2 context.Context, s2 *engine.Session) error {
							if s2.ID() != s.ID() {
								return fmt.Errorf("inner ID %q, outer %q", s2.ID(), s.ID())
							}
							s2.Set(counterKey, counter(s2)+1)
							// Through the engine with fn's ctx: inline too.
							return eng.Do(ctx2, s2.ID(), func(ctx context.Context, s3 *engine.Session) error {
								return httpadapter.Do(r, func(context.Context, *engine.Session) error { return nil })
							})
						})
					})
					reply(w, r, err, "ok")
				})
				h = httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(h)
				cookie := ""
				if existing {
					_, cookie = create(t, eng, 5)
				}
				done := make(chan result, 1)
				go func() { done <- serve(t, h, "/", cookie) }()
				res := <-done // a deadlock would end in a 503 after LockTimeout
				if res.code != http.StatusOK {
					t.Fatalf("%d %s", res.code, res.body)
				}
				if res.cookie != nil {
					cookie = "session_id=" + res.cookie.Value
				}
				want := "1"
				if existing {
					want = "6"
				}
				if body, _ := get(t, httpadapter.Middleware(eng, httpadapter.Config{})(app()), "/read", cookie); body != want {
					t.Errorf("counter %s, want %s", body, want)
				}
			})
		}
	}
}

func TestPanicReleasesTurn(t *testing.T) {
	for _, mode := range modes() {
		for _, where := range []string{"after Do", "inside Do"} {
			t.Run(mode.String()+"/"+where, func(t *testing.T) {
				eng := newEngine(t, engine.Config{LockTimeout: 5 * time.Second})
				mux := http.NewServeMux()
				mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
					err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
						s.Set(counterKey, counter(s)+1)
						if where == "inside Do" {
							panic("boom")
						}
						return nil
					})
					if err == nil {
						panic(http.ErrAbortHandler)
					}
				})
				mux.Handle("/", app())
				h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(mux)
				srv := httptest.NewUnstartedServer(h)
				srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the server logs the panic
				srv.Start()
				defer srv.Close()
				_, cookie := create(t, eng, 0)
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/panic", nil)
				req.Header.Set("Cookie", cookie)
				if resp, err := srv.Client().Do(req); err == nil {
					resp.Body.Close()
					t.Fatalf("panicking handler answered %s", resp.Status)
				}
				req, _ = http.NewRequest(http.MethodGet, srv.URL+"/read", nil)
				req.Header.Set("Cookie", cookie)
				start := time.Now()
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res := toResult(t, resp)
				if d := time.Since(start); res.code != http.StatusOK || d > 2*time.Second {
					t.Fatalf("next request: %d %s after %v, want 200 at once", res.code, res.body, d)
				}
				// fn's changes are rolled back when fn panics; those of a Do
				// that returned are kept.
				want := map[string]string{"inside Do": "0", "after Do": "1"}[where]
				if res.body != want {
					t.Errorf("counter %s, want %s", res.body, want)
				}
			})
		}
	}
}

func TestFlush(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	flushed, finish := make(chan struct{}), make(chan struct{})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the writer is not an http.Flusher")
		}
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set(counterKey, 1)
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		io.WriteString(w, "first\n")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		close(flushed)
		<-finish
		io.WriteString(w, "second\n")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-flushed
	// The header (with the cookie) and the first line arrived before the
	// handler finished.
	if len(resp.Cookies()) != 1 || !engine.ValidID(resp.Cookies()[0].Value) {
		t.Errorf("cookies %v, want the session's", resp.Cookies())
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Errorf("first line %q %v", line, err)
	}
	close(finish)
}

func TestHijack(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Hijacker); !ok {
			t.Error("the writer is not an http.Hijacker over HTTP/1.1")
		}
		var n int
		if err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			n = counter(s)
			return nil
		}); err != nil {
			t.Error(err)
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nhijacked%d", n)
		brw.Flush()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, cookie := create(t, eng, 7)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res := toResult(t, resp)
	if res.body != "hijacked7" || res.cookie != nil {
		t.Errorf("got %q cookie %v, want hijacked7 and no cookie", res.body, res.cookie)
	}
	// The turn was released when the handler returned.
	if body, _ := get(t, httpadapter.Middleware(eng, httpadapter.Config{})(app()), "/read", cookie); body != "7" {
		t.Errorf("counter %s, want 7", body)
	}
}

func TestNoHijackerOverRecorder(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Hijacker); ok {
			t.Error("the writer claims http.Hijacker over a writer that is not one")
		}
		if _, _, err := http.NewResponseController(w).Hijack(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Hijack: %v, want ErrNotSupported", err)
		}
	}))
	serve(t, h, "/", "")
}

func TestReadOnlyCreatesNothing(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			eng, dir := openEngine(t, engine.Config{})
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(app())
			for _, cookie := range []string{"", "session_id=maliciousid", "session_id=" + strings.Repeat("B", 43), "other=1"} {
				res := serve(t, h, "/read", cookie)
				if res.code != http.StatusOK || res.body != "0" {
					t.Errorf("cookie %q: %d %q, want 200 0", cookie, res.code, res.body)
				}
				if sc := res.header.Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("cookie %q: Set-Cookie %q, want none", cookie, sc)
				}
				if s := eng.Stats(); s.Active != 0 {
					t.Errorf("cookie %q: Active %d, want 0", cookie, s.Active)
				}
			}
			files, err := filepath.Glob(filepath.Join(dir, "session-*"))
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 0 {
				t.Errorf("files %v, want none", files)
			}
		})
	}
}

func TestUntouchedSession(t *testing.T) {
	// A request that never calls Do sends no cookie, even with a valid one.
	eng := newEngine(t, engine.Config{})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "static")
	}))
	_, cookie := create(t, eng, 1)
	res := serve(t, h, "/", cookie)
	if res.body != "static" || res.cookie != nil || res.header.Get("Vary") != "" || res.header.Get("Cache-Control") != "" {
		t.Errorf("got %q cookie %v header %v, want the handler's response untouched", res.body, res.cookie, res.header)
	}
}

func TestOutsideMiddleware(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if err := httpadapter.Do(r, func(context.Context, *engine.Session) error { return nil }); !errors.Is(err, httpadapter.ErrNoMiddleware) {
		t.Errorf("Do: %v, want ErrNoMiddleware", err)
	}
	if err := httpadapter.Regenerate(r); !errors.Is(err, httpadapter.ErrNoMiddleware) {
		t.Errorf("Regenerate: %v, want ErrNoMiddleware", err)
	}
	if err := httpadapter.Destroy(r); !errors.Is(err, httpadapter.ErrNoMiddleware) {
		t.Errorf("Destroy: %v, want ErrNoMiddleware", err)
	}
}

func TestAfterHandlerReturned(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	var kept *http.Request
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kept = r
	}))
	serve(t, h, "/", "")
	if err := httpadapter.Do(kept, func(context.Context, *engine.Session) error { return nil }); !errors.Is(err, httpadapter.ErrRequestDone) {
		t.Errorf("Do: %v, want ErrRequestDone", err)
	}
}

func TestFnErrorRollsBack(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			eng := newEngine(t, engine.Config{})
			errFn := errors.New("fn failed")
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
					s.Set(counterKey, 100)
					return errFn
				})
				if !errors.Is(err, errFn) {
					t.Errorf("Do: %v, want fn's error", err)
				}
			}))
			_, cookie := create(t, eng, 3)
			serve(t, h, "/", cookie)
			if res := serve(t, h, "/", ""); res.cookie != nil {
				t.Errorf("a failed Do created a session: cookie %v", res.cookie)
			}
			if body, _ := get(t, httpadapter.Middleware(eng, httpadapter.Config{})(app()), "/read", cookie); body != "3" {
				t.Errorf("counter %s, want 3", body)
			}
		})
	}
}

func TestLockTimeout(t *testing.T) {
	eng := newEngine(t, engine.Config{LockTimeout: 50 * time.Millisecond})
	held, release := make(chan struct{}), make(chan struct{})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(holdApp(held, release))
	_, cookie := create(t, eng, 0)
	a := runAsync(t, h, "/hold", cookie)
	<-held
	res := serve(t, h, "/read", cookie)
	if res.code != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
		t.Errorf("got %d Retry-After %q, want 503 with Retry-After", res.code, res.header.Get("Retry-After"))
	}
	if res.cookie != nil {
		t.Errorf("cookie %v set on a lock timeout", res.cookie)
	}
	close(release)
	<-a
}

// unencodable cannot be written by encoding/gob: committing it fails.
type unencodable struct{ F func() }

func TestCommitError(t *testing.T) {
	for _, mode := range modes() {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/existing=%v", mode, existing), func(t *testing.T) {
				eng := newEngine(t, engine.Config{})
				var doErr, handled error
				h := httpadapter.Middleware(eng, httpadapter.Config{
					Locking: mode,
					ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
						handled = err
						http.Error(w, "commit failed", http.StatusInternalServerError)
					},
				})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					doErr = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
						s.Set("bad", unencodable{})
						return nil
					})
					if doErr != nil {
						httpadapter.Error(w, r, doErr)
					}
				}))
				cookie := ""
				if existing {
					_, cookie = create(t, eng, 0)
				}
				res := serve(t, h, "/", cookie)
				if res.code != http.StatusInternalServerError || handled == nil {
					t.Errorf("got %d, handled %v: want 500 from the ErrorHandler", res.code, handled)
				}
				if mode == httpadapter.Explicit && doErr == nil {
					t.Error("Explicit: Do returned nil, want the commit error")
				}
				if !existing && res.cookie != nil {
					t.Errorf("cookie %v set for a session that was not stored", res.cookie)
				}
			})
		}
	}
}

func TestRegenerateAfterHeader(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error { return nil })
		w.WriteHeader(http.StatusOK)
		if err := httpadapter.Regenerate(r); !errors.Is(err, httpadapter.ErrHeaderWritten) {
			t.Errorf("Regenerate: %v, want ErrHeaderWritten", err)
		}
	}))
	id, cookie := create(t, eng, 1)
	if res := serve(t, h, "/", cookie); res.cookie == nil || res.cookie.Value != id {
		t.Errorf("cookie %v, want the same ID refreshed", res.cookie)
	}
}

func TestRegenerateInsideDo(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			eng := newEngine(t, engine.Config{})
			var inner string
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
					if err := httpadapter.Regenerate(r); err != nil {
						return err
					}
					inner = s.ID()
					s.Set(counterKey, counter(s)+1)
					return nil
				})
				reply(w, r, err, "ok")
			}))
			id, cookie := create(t, eng, 1)
			res := serve(t, h, "/", cookie)
			if res.code != http.StatusOK || res.cookie == nil || res.cookie.Value == id || res.cookie.Value != inner {
				t.Fatalf("got %d cookie %v, s.ID() %q: want the new ID in both", res.code, res.cookie, inner)
			}
			if body, _ := get(t, httpadapter.Middleware(eng, httpadapter.Config{})(app()), "/read", "session_id="+inner); body != "2" {
				t.Errorf("counter %s, want 2", body)
			}
		})
	}
}

func TestDestroyThenSet(t *testing.T) {
	// After Destroy, a later Do of the same request starts a new session.
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			eng := newEngine(t, engine.Config{})
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
					return httpadapter.Destroy(r)
				})
				if err == nil {
					err = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
						if s.Len() != 0 {
							return fmt.Errorf("new session has %v", s.Keys())
						}
						s.Set("flash", "bye")
						return nil
					})
				}
				reply(w, r, err, "ok")
			}))
			id, cookie := create(t, eng, 1)
			res := serve(t, h, "/", cookie)
			if res.code != http.StatusOK || res.cookie == nil || res.cookie.Value == id || !engine.ValidID(res.cookie.Value) {
				t.Fatalf("got %d %s cookie %v, want a new session", res.code, res.body, res.cookie)
			}
			err := eng.Do(t.Context(), id, func(context.Context, *engine.Session) error { return nil })
			if !errors.Is(err, engine.ErrNotFound) {
				t.Errorf("old ID: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestInvalidConfigPanics(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	for _, cfg := range []httpadapter.Config{{CookieName: "a b"}, {CookieName: "x;y"}, {Locking: 7}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Middleware(%+v) did not panic", cfg)
				}
			}()
			httpadapter.Middleware(eng, cfg)
		}()
	}
}

func TestHeadersMerge(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Encoding, cookie")
		w.Header().Set("Cache-Control", "private, max-age=60")
		http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set(counterKey, 1)
			return nil
		})
		reply(w, r, err, "ok")
	}))
	res := serve(t, h, "/", "")
	if got := res.header.Values("Vary"); len(got) != 1 || got[0] != "Accept-Encoding, cookie" {
		t.Errorf("Vary %q, want the handler's alone", got)
	}
	if got := res.header.Get("Cache-Control"); got != "private, max-age=60" {
		t.Errorf("Cache-Control %q, want the handler's", got)
	}
	if got := res.header.Values("Set-Cookie"); len(got) != 2 || !strings.HasPrefix(got[0], "theme=") || res.cookie == nil {
		t.Errorf("Set-Cookie %q, want the handler's and the session's", got)
	}
	// Public caching is overridden when the cookie is set.
	h = httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set(counterKey, 1)
			return nil
		})
		w.WriteHeader(http.StatusNoContent)
	}))
	res = serve(t, h, "/", "")
	if got := res.header.Get("Cache-Control"); got != "no-store" || res.cookie == nil {
		t.Errorf("Cache-Control %q cookie %v, want no-store and the cookie", got, res.cookie)
	}
}
