package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
	"github.com/lockstep-go/lockstep/internal/testkit"
)

// serveApp serves the application over a fresh session directory until the
// test ends.
func serveApp(t *testing.T) (*httptest.Server, *engine.Engine) {
	t.Helper()
	obs, err := newObservability()
	require.NoError(t, err)
	cfg, err := obs.wire(engine.Config{IdleTimeout: idleTimeout, SweepInterval: -1})
	require.NoError(t, err)
	eng, err := engine.Open(t.TempDir(), cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(eng, time.Millisecond, obs))
	t.Cleanup(func() {
		srv.Close()
		assert.NoError(t, eng.Close())
		assert.NoError(t, obs.Close())
	})
	return srv, eng
}

// client is one browser: a cookie jar that does not follow redirects.
type client struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newClient(t *testing.T, srv *httptest.Server) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := *srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: t, srv: srv, c: &c}
}

// do sends a request with form (as a POST body, if not nil) and headers
// (name, value pairs), and returns the status and the body.
func (c *client) do(method, path string, form url.Values, headers ...string) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.srv.URL+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, string(b)
}

func (c *client) get(path string) string {
	c.t.Helper()
	code, body := c.do(http.MethodGet, path, nil)
	require.Equal(c.t, http.StatusOK, code, "GET %s: %s", path, body)
	return body
}

// cookie returns the session cookie's value in the jar, "" if none.
func (c *client) cookie() string {
	u, _ := url.Parse(c.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == httpadapter.DefaultCookieName {
			return ck.Value
		}
	}
	return ""
}

func (c *client) login(user string) {
	c.t.Helper()
	code, body := c.do(http.MethodPost, "/login", url.Values{"user": {user}})
	require.Equal(c.t, http.StatusSeeOther, code, "login: %s", body)
}

func visitsOf(t *testing.T, body string) int {
	t.Helper()
	var v struct{ Visits int }
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return v.Visits
}

func TestApp(t *testing.T) {
	srv, _ := serveApp(t)
	c := newClient(t, srv)

	assert.Contains(t, c.get("/session"), "No session")
	assert.Empty(t, c.cookie(), "a read-only page created a session")
	assert.Contains(t, c.get("/"), `Visit <span id=visits>1</span>`)
	assert.NotContains(t, c.get("/"), `id=flash`)

	before := c.cookie()
	require.NotEmpty(t, before)
	c.login("ann")
	assert.NotEqual(t, before, c.cookie(), "login kept the session ID")

	page := c.get("/")
	assert.Contains(t, page, `Visit <span id=visits>3</span>`, "the visits survive the login")
	assert.Contains(t, page, `<b id=user>ann</b>`)
	assert.Contains(t, page, `<p id=flash role=status>Welcome, ann.</p>`)
	assert.NotContains(t, c.get("/"), `id=flash`, "the flash is shown once")

	_, body := c.do(http.MethodPost, "/visits", nil)
	assert.Equal(t, 5, visitsOf(t, body))
	assert.Equal(t, 5, visitsOf(t, c.get("/visits")), "GET /visits only reads")

	values := c.get("/session")
	assert.Contains(t, values, "<td>user<td><code>string</code><td>ann")
	assert.Contains(t, values, "<td>visits<td><code>int</code><td>5")
	assert.Contains(t, values, "<code>"+c.cookie()[:6]+"…</code>")
	assert.NotContains(t, values, c.cookie(), "the page shows the whole session ID")

	assert.Contains(t, c.get("/slow"), `slow run 1 for "ann"`)
	assert.Contains(t, c.get("/slow-implicit"), `slow run 2 for "ann"`)

	var vars map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(c.get("/debug/vars")), &vars))
	assert.Contains(t, vars, "memstats")
	var stats engine.Stats
	require.NoError(t, json.Unmarshal(vars["lockstep"], &stats), "%s", vars["lockstep"])
	assert.Equal(t, 1, stats.Active, "resident sessions")

	code, _ := c.do(http.MethodPost, "/logout", url.Values{})
	assert.Equal(t, http.StatusSeeOther, code)
	assert.Empty(t, c.cookie(), "the cookie outlived the logout")
	page = c.get("/")
	assert.Contains(t, page, `Visit <span id=visits>1</span>`)
	assert.NotContains(t, page, "ann")
}

// Forms and fetch() calls from another site are refused, and change nothing.
func TestCrossOriginRefused(t *testing.T) {
	srv, _ := serveApp(t)
	c := newClient(t, srv)
	c.login("ann")
	c.get("/") // takes the flash

	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"Sec-Fetch-Site", []string{"Sec-Fetch-Site", "cross-site"}},
		{"Origin", []string{"Origin", "https://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/logout", "/login", "/visits"} {
				code, body := c.do(http.MethodPost, path, url.Values{"user": {"mallory"}}, tc.headers...)
				assert.Equal(t, http.StatusForbidden, code, "POST %s from another origin: %s", path, body)
			}
		})
	}
	page := c.get("/")
	assert.Contains(t, page, `<b id=user>ann</b>`, "still logged in as ann")
	assert.Contains(t, page, `Visit <span id=visits>2</span>`, "no cross-origin increment")
	assert.NotContains(t, page, "id=flash")

	code, _ := c.do(http.MethodPost, "/visits", nil, "Sec-Fetch-Site", "same-origin")
	assert.Equal(t, http.StatusOK, code, "a same-origin fetch()")
}

// Of 20 concurrent requests after the login, exactly one shows the flash,
// and every one of them counts.
func TestFlashOnceConcurrent(t *testing.T) {
	srv, _ := serveApp(t)
	c := newClient(t, srv)
	c.login("ann")
	const n = 20
	flashes := 0
	for _, p := range testkit.GetAtOnce(t, c.c, srv.URL+"/", n, nil) {
		flashes += strings.Count(p, "Welcome, ann.")
	}
	assert.Equal(t, 1, flashes, "pages with the flash")
	assert.Equal(t, n, visitsOf(t, c.get("/visits")))
}

// "Log out everywhere" from one browser logs the user out of the others,
// and leaves other users alone.
func TestLogoutEverywhere(t *testing.T) {
	srv, _ := serveApp(t)
	ann1, ann2, bob := newClient(t, srv), newClient(t, srv), newClient(t, srv)
	ann1.login("ann")
	ann2.login("ann")
	bob.login("bob")
	assert.Contains(t, ann1.get("/session"), "owner <b id=owner>ann</b>")

	code, body := ann2.do(http.MethodPost, "/logout-everywhere", url.Values{})
	require.Equal(t, http.StatusSeeOther, code, body)
	assert.Empty(t, ann2.cookie(), "the cookie outlived the logout")
	assert.NotContains(t, ann1.get("/"), "id=user", "the other browser is still logged in")
	assert.NotContains(t, ann2.get("/"), "id=user")
	assert.Contains(t, bob.get("/"), "<b id=user>bob</b>", "another user was logged out")
}

// "Password changed" logs the user out everywhere else, and this browser
// goes on logged in, in a new session.
func TestPasswordChanged(t *testing.T) {
	srv, _ := serveApp(t)
	ann1, ann2 := newClient(t, srv), newClient(t, srv)
	ann1.login("ann")
	ann2.login("ann")
	ann1.get("/")
	before := ann1.cookie()

	code, body := ann1.do(http.MethodPost, "/password", url.Values{})
	require.Equal(t, http.StatusSeeOther, code, body)
	assert.NotEqual(t, before, ann1.cookie(), "the session ID survived the password change")
	page := ann1.get("/")
	assert.Contains(t, page, "<b id=user>ann</b>")
	assert.Contains(t, page, "Password changed: your other sessions are logged out.")
	assert.NotContains(t, ann2.get("/"), "id=user", "the other browser is still logged in")
}
