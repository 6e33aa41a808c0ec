package httpadapter_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
	"github.com/lockstep-go/lockstep/persist"
)

// A visit counter: each request increments the session's counter. The
// first request creates the session and gets its cookie.
func ExampleMiddleware() {
	eng, err := engine.New(persist.NewMemory(), engine.Config{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var visits int
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			visits, _ = engine.Get[int](s, "visits")
			visits++
			s.Set("visits", visits)
			return nil
		})
		if err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		fmt.Fprintf(w, "visit %d", visits)
	})
	srv := httptest.NewServer(httpadapter.Middleware(eng, httpadapter.Config{})(mux))
	defer srv.Close()

	cookie := ""
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			cookie = c.Name + "=" + c.Value
		}
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Login regenerates the session's ID, so that an ID planted or observed
// before login is worthless after it; logout destroys the session.
func ExampleRegenerate() {
	eng, err := engine.New(persist.NewMemory(), engine.Config{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// (check the credentials first)
		err := httpadapter.Regenerate(r)
		if err == nil {
			err = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
				s.Set("user", r.FormValue("user"))
				return nil
			})
		}
		if err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		fmt.Fprintln(w, "welcome")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := httpadapter.Destroy(r); err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		fmt.Fprintln(w, "bye")
	})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(mux)

	login := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("user=ann"))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, login)
	c := rec.Result().Cookies()[0]
	fmt.Println(rec.Body.String()+"cookie:", c.Name, engine.ValidID(c.Value), c.MaxAge, c.HttpOnly, c.SameSite == http.SameSiteLaxMode)

	logout := httptest.NewRequest(http.MethodPost, "/logout", nil)
	logout.AddCookie(c)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, logout)
	c = rec.Result().Cookies()[0]
	fmt.Println(rec.Body.String()+"cookie:", c.Name, c.Value == "", c.MaxAge)
	// Output:
	// welcome
	// cookie: session_id true 3600 true true
	// bye
	// cookie: session_id true -1
}

// In Explicit mode the turn is held only inside Do: slow work outside it
// does not hold up the session's other requests. Keep a read-modify-write
// inside one Do.
func ExampleDo_explicit() {
	eng, err := engine.New(persist.NewMemory(), engine.Config{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()

	h := httpadapter.Middleware(eng, httpadapter.Config{Locking: httpadapter.Explicit})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var user string
			err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
				v, _ := s.Get("user")
				user, _ = v.(string)
				return nil
			})
			if err != nil {
				httpadapter.Error(w, r, err)
				return
			}
			report := fmt.Sprintf("report for %q", user) // slow work, outside the turn
			err = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
				n, _ := engine.Get[int](s, "reports")
				s.Set("reports", n+1)
				return nil
			})
			if err != nil {
				httpadapter.Error(w, r, err)
				return
			}
			fmt.Fprintln(w, report)
		}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Print(rec.Body.String())
	fmt.Println(len(rec.Result().Cookies()), "cookie")
	// Output:
	// report for ""
	// 1 cookie
}

// New checks a configuration that comes from outside the program (a file,
// flags) and returns an error where Middleware would panic. The Adapter
// it returns also counts what it could only log.
func ExampleNew() {
	eng, err := engine.New(persist.NewMemory(), engine.Config{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()

	// A __Host- cookie must be Secure: browsers drop it otherwise.
	_, err = httpadapter.New(eng, httpadapter.Config{CookieName: "__Host-sid"})
	fmt.Println(err != nil)

	a, err := httpadapter.New(eng, httpadapter.Config{CookieName: "__Host-sid", Secure: true})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	handler := a.Wrap(mux) // serve it with http.ListenAndServe
	_ = handler
	fmt.Println(a.Stats().LostCommits)
	// Output:
	// true
	// 0
}
