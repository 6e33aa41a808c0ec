// Command counter is a small web application on lockstep sessions: a page
// with a visit counter, a login that regenerates the session ID, a logout
// that destroys the session, and two slow pages that show what the
// locking modes do to concurrent requests of one session.
//
//	go run ./examples/counter -addr 127.0.0.1:8080 -dir /tmp/lockstep-example
//
// Then open http://127.0.0.1:8080/. Sessions are files in -dir (by default
// lockstep-example in the system's temporary directory); the server stops
// cleanly on SIGINT or SIGTERM, saving the sessions in memory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "lockstep-example"), "directory of the session files")
	work := flag.Duration("work", 2*time.Second, "how long the slow pages work")
	flag.Parse()
	if err := run(*addr, *dir, *work); err != nil {
		fmt.Fprintln(os.Stderr, "counter:", err)
		os.Exit(1)
	}
}

func run(addr, dir string, work time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	eng, err := engine.Open(dir, engine.Config{IdleTimeout: 30 * time.Minute})
	if err != nil {
		return err
	}
	defer eng.Close() // after the server has stopped: saves what is in memory

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newHandler(eng, work),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	slog.Info("counter: serving", "url", "http://"+ln.Addr().String()+"/", "sessions", dir)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("counter: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if cerr := eng.Close(); err == nil {
		err = cerr
	}
	return err
}

// newHandler returns the application. Most pages use Implicit locking
// (the default): a request that uses the session has it to itself until
// it returns. /slow is mounted behind a second middleware with Explicit
// locking, on the same engine and cookie, so that its slow part runs
// outside the session's turn.
func newHandler(eng *engine.Engine, work time.Duration) http.Handler {
	implicit := httpadapter.Middleware(eng, httpadapter.Config{})
	explicit := httpadapter.Middleware(eng, httpadapter.Config{Locking: httpadapter.Explicit})

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", implicit(http.HandlerFunc(home)))
	mux.Handle("POST /login", implicit(http.HandlerFunc(login)))
	mux.Handle("POST /logout", implicit(http.HandlerFunc(logout)))
	mux.Handle("GET /slow", explicit(slow(work)))
	mux.Handle("GET /slow-implicit", implicit(slow(work)))
	return mux
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>lockstep counter</title>
<h1>Visit {{.Visits}}</h1>
{{if .User}}<p>Logged in as <b>{{.User}}</b>.</p>
<form method=post action=/logout><button>Log out</button></form>
{{else}}<form method=post action=/login><input name=user placeholder=name required> <button>Log in</button></form>
{{end}}
<p>Open <a href=/slow target=_blank>/slow</a> in two tabs at once: it works outside the
session's turn (Explicit locking), so both finish after one period of work.
<a href=/slow-implicit target=_blank>/slow-implicit</a> holds the turn (Implicit locking),
so the second waits for the first.</p>
`))

func home(w http.ResponseWriter, r *http.Request) {
	var data struct {
		Visits int
		User   string
	}
	err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
		v, _ := s.Get("visits")
		data.Visits, _ = v.(int)
		data.Visits++
		s.Set("visits", data.Visits)
		u, _ := s.Get("user")
		data.User, _ = u.(string)
		return nil
	})
	if err != nil {
		httpadapter.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page.Execute(w, data)
}

func login(w http.ResponseWriter, r *http.Request) {
	user := r.FormValue("user")
	if user == "" || len(user) > 64 {
		http.Error(w, "a name of 1 to 64 bytes, please", http.StatusBadRequest)
		return
	}
	// A new ID at login: an ID planted or seen before it is now worthless.
	err := httpadapter.Regenerate(r)
	if err == nil {
		err = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set("user", user)
			return nil
		})
	}
	if err != nil {
		httpadapter.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func logout(w http.ResponseWriter, r *http.Request) {
	if err := httpadapter.Destroy(r); err != nil {
		httpadapter.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// slow reads the session, works (outside Do) and records that it ran.
// Behind Explicit locking, requests of one session overlap during the
// work; behind Implicit locking they take turns.
func slow(work time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var user string
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			u, _ := s.Get("user")
			user, _ = u.(string)
			return nil
		})
		if err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		select { // the slow part: a remote call, a report...
		case <-time.After(work):
		case <-r.Context().Done():
			return
		}
		var runs int
		err = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			v, _ := s.Get("slow-runs")
			runs, _ = v.(int)
			runs++
			s.Set("slow-runs", runs)
			return nil
		})
		if err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		fmt.Fprintf(w, "slow run %d for %q took %v (work %v)\n", runs, user, time.Since(start).Round(time.Millisecond), work)
	})
}
