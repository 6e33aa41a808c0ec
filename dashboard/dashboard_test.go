package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/dashboard"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func allow(*http.Request) bool { return true }

// fixture is an engine with two sessions of alice and one of bob, and the
// dashboard mounted at /admin/.
type fixture struct {
	eng            *engine.Engine
	srv            *httptest.Server
	alice1, alice2 string
	bob            string
}

func newFixture(t *testing.T, store persist.Store, cfg dashboard.Config) *fixture {
	t.Helper()
	rec := dashboard.NewRecorder()
	eng, err := engine.New(store, engine.Config{SweepInterval: -1, Observer: rec.Observer()})
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	if cfg.Recorder == nil {
		cfg.Recorder = rec
	}
	f := &fixture{eng: eng}
	session := func(owner string, secret string) string {
		id, err := eng.Create(context.Background())
		require.NoError(t, err)
		require.NoError(t, eng.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			s.SetOwner(owner)
			s.Set("secret", secret)
			return nil
		}))
		return id
	}
	f.alice1 = session("alice", "alice-secret-1")
	f.alice2 = session("alice", "alice-secret-2")
	f.bob = session("bob", "bob-secret")
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", dashboard.Handler(eng, cfg)))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// get returns the status and body of GET path.
func (f *fixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := f.srv.Client().Get(f.srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// post posts form to path as a browser would from origin (the server's
// own if ""), not following the redirect.
func (f *fixture) post(t *testing.T, path string, form url.Values, site string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	c := *f.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func (f *fixture) alive(id string) bool {
	return f.eng.Do(context.Background(), id, func(context.Context, *engine.Session) error { return nil }) == nil
}

func TestAuthorize(t *testing.T) {
	for name, authorize := range map[string]func(*http.Request) bool{
		"nil":    nil,
		"refuse": func(*http.Request) bool { return false },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, persist.NewMemory(), dashboard.Config{Authorize: authorize})
			for _, path := range []string{"/admin/", "/admin/sessions", "/admin/session?key=" + persist.Key(f.bob)} {
				code, body := f.get(t, path)
				assert.Equal(t, http.StatusForbidden, code, "GET %s", path)
				assert.NotContains(t, body, "alice")
			}
			resp := f.post(t, "/admin/revoke", url.Values{"owner": {"alice"}}, "same-origin")
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.True(t, f.alive(f.alice1), "a refused revoke destroyed a session")
		})
	}
}

func TestOverview(t *testing.T) {
	f := newFixture(t, persist.NewMemory(), dashboard.Config{Authorize: allow})
	resp, err := f.srv.Client().Get(f.srv.URL + "/admin/")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	for _, want := range []string{"resident sessions", "turns/s", "p99 wait", "commits/s", "hand-overs/s", "failures/s", "<polyline", "store: memory"} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "<script")
}

func TestSessions(t *testing.T) {
	f := newFixture(t, persist.NewMemory(), dashboard.Config{Authorize: allow})
	code, body := f.get(t, "/admin/sessions")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "3 sessions")
	assert.Less(t, strings.Index(body, "alice"), strings.Index(body, "bob"), "grouped by owner, sorted")
	for _, id := range []string{f.alice1, f.alice2, f.bob} {
		assert.Contains(t, body, persist.Key(id))
		assert.NotContains(t, body, id, "a session ID on the page")
	}
	assert.NotContains(t, body, "secret")

	code, body = f.get(t, "/admin/sessions?owner=bob")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "1 session.")
	assert.NotContains(t, body, persist.Key(f.alice1))
}

func TestSession(t *testing.T) {
	for _, show := range []bool{false, true} {
		f := newFixture(t, persist.NewMemory(), dashboard.Config{Authorize: allow, ShowValues: show})
		code, body := f.get(t, "/admin/session?key="+persist.Key(f.bob))
		require.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, "bob")
		assert.Contains(t, body, "secret", "the value's name")
		assert.Equal(t, show, strings.Contains(body, "bob-secret"), "value shown with ShowValues=%v", show)

		code, _ = f.get(t, "/admin/session?key="+persist.Key("unknown"))
		assert.Equal(t, http.StatusNotFound, code)
		code, _ = f.get(t, "/admin/session?key=../../etc/passwd")
		assert.Equal(t, http.StatusNotFound, code)
	}
}

func TestRevokeAndRemove(t *testing.T) {
	f := newFixture(t, persist.NewMemory(), dashboard.Config{Authorize: allow})

	// Cross-origin posts are refused.
	resp := f.post(t, "/admin/revoke", url.Values{"owner": {"alice"}}, "cross-site")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp = f.post(t, "/admin/remove", url.Values{"key": {persist.Key(f.bob)}}, "cross-site")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.True(t, f.alive(f.alice1) && f.alive(f.alice2) && f.alive(f.bob), "a cross-origin post destroyed a session")

	resp = f.post(t, "/admin/revoke", url.Values{"owner": {"alice"}}, "same-origin")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "sessions", loc.Path, "relative to the mount point")
	assert.Contains(t, loc.Query().Get("done"), "2 sessions destroyed")
	assert.False(t, f.alive(f.alice1) || f.alive(f.alice2), "alice's sessions live on")
	assert.True(t, f.alive(f.bob))

	resp = f.post(t, "/admin/remove", url.Values{"key": {persist.Key(f.bob)}}, "")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.False(t, f.alive(f.bob))
	_, body := f.get(t, "/admin/sessions?done=x")
	assert.Contains(t, body, "No stored sessions")

	code, _ := f.get(t, "/admin/revoke")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
}

// hiding is a store that cannot list its sessions.
type hiding struct{ persist.Store }

func TestStoreCannotList(t *testing.T) {
	f := newFixture(t, hiding{persist.NewMemory()}, dashboard.Config{Authorize: allow})
	code, body := f.get(t, "/admin/sessions")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "cannot list its sessions")
	_, body = f.get(t, "/admin/session?key="+persist.Key(f.bob))
	assert.Contains(t, body, "cannot read sessions by key")
}

func TestNotFoundIsHTML(t *testing.T) {
	f := newFixture(t, persist.NewMemory(), dashboard.Config{Authorize: allow})
	resp, err := f.srv.Client().Get(f.srv.URL + "/admin/session?key=" + persist.Key("unknown"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
}
