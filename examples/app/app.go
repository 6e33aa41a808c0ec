package main

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// Session keys of the application.
const (
	keyVisits = "visits"    // int: page views and fetch() increments
	keyUser   = "user"      // string: the logged-in user's name
	keyFlash  = "flash"     // string: a message for the next page, shown once
	keySlow   = "slow-runs" // int: how often /slow and /slow-implicit ran
)

// newHandler returns the application. Most pages use Implicit locking
// (the default): a request that uses the session has it to itself until
// it returns. /slow is mounted behind a second middleware with Explicit
// locking, on the same engine and cookie, so that its slow part runs
// outside the session's turn. Every request passes through
// http.CrossOriginProtection, which refuses cross-origin POSTs (forms and
// fetch() from other sites) with 403. With obs, /metrics and /admin/
// are served too (observe.go).
func newHandler(eng *engine.Engine, work time.Duration, obs *observability) http.Handler {
	implicit := httpadapter.Middleware(eng, httpadapter.Config{})
	explicit := httpadapter.Middleware(eng, httpadapter.Config{Locking: httpadapter.Explicit})

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", implicit(http.HandlerFunc(home)))
	mux.Handle("POST /login", implicit(http.HandlerFunc(login)))
	mux.Handle("POST /logout", implicit(http.HandlerFunc(logout)))
	mux.Handle("POST /logout-everywhere", implicit(logoutEverywhere(eng)))
	mux.Handle("POST /password", implicit(passwordChanged(eng)))
	mux.Handle("GET /visits", implicit(http.HandlerFunc(visits)))
	mux.Handle("POST /visits", implicit(http.HandlerFunc(visits)))
	mux.Handle("GET /session", implicit(http.HandlerFunc(sessionPage)))
	mux.Handle("GET /slow", explicit(slow(work)))
	mux.Handle("GET /slow-implicit", implicit(slow(work)))
	mux.Handle("GET /debug/vars", debugVars(eng))
	if obs != nil {
		obs.mount(mux, eng, implicit) // /metrics and the dashboard at /admin/
	}
	return http.NewCrossOriginProtection().Handler(mux)
}

func home(w http.ResponseWriter, r *http.Request) {
	var data struct {
		Visits int
		User   string
		Flash  string
	}
	err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
		data.Visits, _ = engine.Get[int](s, keyVisits)
		data.Visits++
		s.Set(keyVisits, data.Visits)
		data.User, _ = engine.Get[string](s, keyUser)
		// Read and deleted in this turn: of several requests that race
		// for the flash, exactly one shows it.
		data.Flash, _ = engine.Pop[string](s, keyFlash)
		return nil
	})
	if err != nil {
		httpadapter.Error(w, r, err)
		return
	}
	render(w, homePage, data)
}

// visits answers the visit counter as JSON, {"visits": N}; a POST
// increments it first. The home page's buttons call it with fetch().
func visits(w http.ResponseWriter, r *http.Request) {
	var n int
	err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
		n, _ = engine.Get[int](s, keyVisits)
		if r.Method == http.MethodPost {
			n++
			s.Set(keyVisits, n)
		}
		return nil
	})
	if err != nil {
		httpadapter.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int{"visits": n})
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
			s.Set(keyUser, user)
			s.SetOwner(user) // what DestroyOwner finds the session by
			s.Set(keyFlash, "Welcome, "+user+".")
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

// logoutEverywhere destroys every session of the user, in every process
// that shares the store: this one with its cookie, then the others.
func logoutEverywhere(eng *engine.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := destroyAll(eng, r); err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}

// passwordChanged is what an application does when a user's password
// changes (the example has no passwords): every session of the user is
// destroyed, and this browser goes on in a fresh one.
func passwordChanged(eng *engine.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := destroyAll(eng, r)
		if err == nil && user != "" {
			err = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
				s.Set(keyUser, user) // a new session, with a new ID and cookie
				s.SetOwner(user)
				s.Set(keyFlash, "Password changed: your other sessions are logged out.")
				return nil
			})
		}
		if err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}

// destroyAll destroys the request's session, and every other session of
// its owner, and returns the owner ("" if none).
func destroyAll(eng *engine.Engine, r *http.Request) (string, error) {
	var user string
	err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
		user = s.Owner()
		return nil
	})
	if err == nil {
		// This session first, and its cookie; this also ends the request's
		// turn, so that DestroyOwner does not wait for it.
		err = httpadapter.Destroy(r)
	}
	if err == nil && user != "" {
		_, err = eng.DestroyOwner(r.Context(), user)
	}
	return user, err
}

// sessionPage shows the values of this session. It only reads: a visitor
// without a session gets none.
func sessionPage(w http.ResponseWriter, r *http.Request) {
	type value struct{ Key, Type, Value string }
	var data struct {
		ID, Owner string
		Values    []value
	}
	err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
		if id := s.ID(); len(id) > 6 {
			data.ID = id[:6] + "…" // enough to tell sessions apart, too little to steal one
		}
		data.Owner = s.Owner()
		for _, k := range s.Keys() {
			v, _ := s.Get(k)
			data.Values = append(data.Values, value{k, fmt.Sprintf("%T", v), fmt.Sprintf("%v", v)})
		}
		return nil
	})
	if err != nil {
		httpadapter.Error(w, r, err)
		return
	}
	render(w, sessionValuesPage, data)
}

// slow reads the session, works (outside Do) and records that it ran.
// Behind Explicit locking, requests of one session overlap during the
// work; behind Implicit locking they take turns.
func slow(work time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var user string
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			user, _ = engine.Get[string](s, keyUser)
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
			runs, _ = engine.Get[int](s, keySlow)
			runs++
			s.Set(keySlow, runs)
			return nil
		})
		if err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		fmt.Fprintf(w, "slow run %d for %q took %v (work %v)\n", runs, user, time.Since(start).Round(time.Millisecond), work)
	})
}

// debugVars serves what expvar's handler serves, the process's published
// variables (memstats, cmdline), and the engine's Stats as "lockstep". It
// does not expvar.Publish them: that registry is process-wide and refuses
// a name twice, and a process (a test) may run several engines.
func debugVars(eng *engine.Engine) http.Handler {
	stats := expvar.Func(func() any { return eng.Stats() })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, "{\n%q: %s", "lockstep", stats.String())
		expvar.Do(func(kv expvar.KeyValue) {
			fmt.Fprintf(w, ",\n%q: %s", kv.Key, kv.Value)
		})
		fmt.Fprintf(w, "\n}\n")
	})
}

// render writes the page; an error here is the connection's, and is logged.
func render(w http.ResponseWriter, page *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, data); err != nil {
		slog.Warn("app: render", "page", page.Name(), "err", err)
	}
}
