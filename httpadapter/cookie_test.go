package httpadapter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// TestSeveralCookies sends a stale cookie of the session's name before the
// live one, as a browser does with a cookie of the same name left on a
// more specific path: the live session is used, in every mode and for
// every entry point.
func TestSeveralCookies(t *testing.T) {
	stale := strings.Repeat("A", 43) // well-formed, unknown
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			eng := newEngine(t, engine.Config{})
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(app())
			for _, tc := range []struct {
				name   string
				header func(id string) []string
			}{
				{"one line", func(id string) []string { return []string{"session_id=" + stale + "; session_id=" + id} }},
				{"two lines", func(id string) []string { return []string{"session_id=" + stale, "session_id=" + id} }},
				{"malformed and unknown first", func(id string) []string {
					return []string{"session_id=junk; session_id=" + stale + "; other=1; session_id=" + id}
				}},
				{"destroyed first", func(id string) []string {
					dead, _ := create(t, eng, 0)
					require.NoError(t, eng.Destroy(context.Background(), dead))
					return []string{"session_id=" + dead + "; session_id=" + id}
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					id, _ := create(t, eng, 5)
					do := func(path string) result {
						req := httptest.NewRequest(http.MethodGet, path, nil)
						req.Header["Cookie"] = tc.header(id)
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						return toResult(t, rec.Result())
					}
					res := do("/read")
					assert.Equal(t, "5", res.body, "read: got the counter of another session")
					res = do("/count")
					assert.Equal(t, "6", res.body)
					if assert.NotNil(t, res.cookie) {
						assert.Equal(t, id, res.cookie.Value, "count: cookie names another session")
					}
					res = do("/login") // Do, then Regenerate
					assert.Equal(t, "7", res.body)
					if assert.NotNil(t, res.cookie) {
						assert.NotEqual(t, id, res.cookie.Value, "login: the ID was not regenerated")
						id = res.cookie.Value
					}
					res = do("/logout")
					assert.Equal(t, http.StatusOK, res.code)
					err := eng.Do(context.Background(), id, func(context.Context, *engine.Session) error { return nil })
					assert.ErrorIs(t, err, engine.ErrNotFound, "logout did not destroy the live session")
				})
			}
		})
	}
}

// TestSeveralCookiesNoTurn regenerates and destroys without a Do first, so
// that the adapter has to find the live session without a turn.
func TestSeveralCookiesNoTurn(t *testing.T) {
	stale := strings.Repeat("B", 42) + "A"
	eng := newEngine(t, engine.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("/regenerate", func(w http.ResponseWriter, r *http.Request) { reply(w, r, httpadapter.Regenerate(r), "ok") })
	mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) { reply(w, r, httpadapter.Destroy(r), "ok") })
	h := httpadapter.Middleware(eng, httpadapter.Config{})(mux)
	id, _ := create(t, eng, 1)
	res := serve(t, h, "/regenerate", "session_id="+stale+"; session_id="+id)
	require.NotNil(t, res.cookie, "Regenerate: no new cookie")
	newID := res.cookie.Value
	assert.NotEqual(t, id, newID)
	err := eng.Do(context.Background(), id, func(context.Context, *engine.Session) error { return nil })
	assert.ErrorIs(t, err, engine.ErrNotFound, "the old ID lives on")

	res = serve(t, h, "/destroy", "session_id="+stale+"; session_id="+newID)
	require.NotNil(t, res.cookie)
	assert.Less(t, res.cookie.MaxAge, 0, "Destroy: cookie not expired")
	err = eng.Do(context.Background(), newID, func(context.Context, *engine.Session) error { return nil })
	assert.ErrorIs(t, err, engine.ErrNotFound, "Destroy did not destroy the live session")
}
