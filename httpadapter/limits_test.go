package httpadapter_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// The cookie's Max-Age follows the session's own idle timeout ("remember
// me"), on the login response and on every later one, in both locking
// modes; other sessions keep the engine's; BrowserSession sends none.
func TestCookieFollowsSessionIdleTimeout(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		err := httpadapter.Do(r, func(_ context.Context, s *engine.Session) error {
			s.SetOwner("alice")
			if r.URL.Query().Get("remember") != "" {
				s.SetIdleTimeout(30 * 24 * time.Hour)
			}
			return nil
		})
		if err == nil {
			err = httpadapter.Regenerate(r)
		}
		reply(w, r, err, "in")
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		reply(w, r, httpadapter.Do(r, func(context.Context, *engine.Session) error { return nil }), "ok")
	})
	for _, mode := range modes() {
		for _, browser := range []bool{false, true} {
			t.Run(mode.String()+map[bool]string{true: " browser session"}[browser], func(t *testing.T) {
				eng := newEngine(t, engine.Config{IdleTimeout: time.Hour, MaxIdleTimeout: 90 * 24 * time.Hour})
				h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode, BrowserSession: browser})(mux)
				for _, tc := range []struct {
					path   string
					maxAge int
				}{
					{"/login?remember=1", 30 * 24 * 3600},
					{"/login", 3600},
				} {
					if browser {
						tc.maxAge = 0
					}
					res := serve(t, h, tc.path, "")
					require.Equal(t, http.StatusOK, res.code, res.body)
					require.NotNil(t, res.cookie, tc.path)
					assert.Equal(t, tc.maxAge, res.cookie.MaxAge, "%s: login response", tc.path)
					if browser {
						continue // no refresh without Max-Age
					}
					res = serve(t, h, "/read", res.cookie.Name+"="+res.cookie.Value)
					require.Equal(t, http.StatusOK, res.code, res.body)
					require.NotNil(t, res.cookie, tc.path)
					assert.Equal(t, tc.maxAge, res.cookie.MaxAge, "%s: a later request refreshes it", tc.path)
				}
			})
		}
	}
}
