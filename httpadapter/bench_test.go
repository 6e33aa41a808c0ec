package httpadapter_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// benchHandler reads the counter (GET /read) or increments it (/write).
func benchHandler() http.Handler {
	read := func(ctx context.Context, s *engine.Session) error {
		counter(s)
		return nil
	}
	write := func(ctx context.Context, s *engine.Session) error {
		s.Set(counterKey, counter(s)+1)
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn := read
		if r.URL.Path == "/write" {
			fn = write
		}
		if err := httpadapter.Do(r, fn); err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		io.WriteString(w, "ok")
	})
}

// discard is a ResponseWriter that keeps only its header, reset per request.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// WriteString is there because http's own ResponseWriter has it.
func (d *discard) WriteString(s string) (int, error) { return len(s), nil }

// BenchmarkRoundTrip serves requests directly (no network) through the
// middleware on one resident session: cookie parse, turn, handler, commit,
// Set-Cookie. "none" is a handler that never calls Do.
func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range modes() {
		for _, path := range []string{"/none", "/read", "/write"} {
			b.Run(mode.String()+path, func(b *testing.B) {
				eng := newEngine(b, engine.Config{})
				var h http.Handler = benchHandler()
				if path == "/none" {
					h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
				}
				h = httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(h)
				_, cookie := create(b, eng, 0)
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("Cookie", cookie)
				w := &discard{h: make(http.Header)}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					h.ServeHTTP(w, req)
				}
				if path != "/none" && len(w.h["Set-Cookie"]) != 1 {
					b.Fatalf("header %v, want a Set-Cookie", w.h)
				}
			})
		}
	}
}

// BenchmarkRoundTripParallel is BenchmarkRoundTrip/Implicit/read from
// GOMAXPROCS goroutines on one session (contended) and on a session each.
func BenchmarkRoundTripParallel(b *testing.B) {
	for _, shared := range []bool{true, false} {
		name := map[bool]string{true: "one-session", false: "session-each"}[shared]
		b.Run(name, func(b *testing.B) {
			eng := newEngine(b, engine.Config{})
			h := httpadapter.Middleware(eng, httpadapter.Config{})(benchHandler())
			_, shared1 := create(b, eng, 0)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				cookie := shared1
				if !shared {
					_, cookie = create(b, eng, 0)
				}
				req := httptest.NewRequest(http.MethodGet, "/read", nil)
				req.Header.Set("Cookie", cookie)
				w := &discard{h: make(http.Header)}
				for pb.Next() {
					clear(w.h)
					h.ServeHTTP(w, req)
				}
			})
		})
	}
}

// BenchmarkLoopback is a full HTTP round trip over a loopback connection
// (keep-alive) through the middleware.
func BenchmarkLoopback(b *testing.B) {
	for _, path := range []string{"/read", "/write"} {
		b.Run(path[1:], func(b *testing.B) {
			eng := newEngine(b, engine.Config{})
			srv := httptest.NewServer(httpadapter.Middleware(eng, httpadapter.Config{})(benchHandler()))
			defer srv.Close()
			_, cookie := create(b, eng, 0)
			client := srv.Client()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.Header.Set("Cookie", cookie)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatal(resp.Status)
				}
			}
		})
	}
}
