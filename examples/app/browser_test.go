package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
	"github.com/lockstep-go/lockstep/persist"
)

// requireBrowserEnv, set to 1, makes a missing browser a failure (CI).
const requireBrowserEnv = "LOCKSTEP_REQUIRE_BROWSER"

// browserTimeout bounds the whole browser test, browser start included.
const browserTimeout = 60 * time.Second

// screenshot takes a PNG of the whole page in tab, checks that it decodes
// to the viewport's width, and writes it to name in the -screenshots
// directory, else in a temporary one. docs/example-app*.png come from
//
//	go -C examples test -run 'TestBrowser$' ./app -args -screenshots ../../docs
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(screenshotWidth, 600)))
	b, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	require.NoError(t, err, "screenshot %s", name)
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	require.NoError(t, err, "screenshot %s", name)
	assert.Equal(t, screenshotWidth, cfg.Width, "screenshot %s: width", name)
	dir := *screenshotDir
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
}

// screenshotWidth is the width of the screenshots, in CSS pixels.
const screenshotWidth = 900

// startBrowser starts a headless Chromium with a fresh profile, stopped when
// the test ends, and returns its first tab. Without chromium in PATH it
// skips the test, or fails it when requireBrowserEnv is 1.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(requireBrowserEnv) == "1" {
			t.Fatalf("no chromium in PATH, and %s=1: %v", requireBrowserEnv, err)
		}
		t.Skipf("skipped: no chromium in PATH (apt-get install chromium; %s=1 makes this a failure)", requireBrowserEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab() // closes the browser and waits for its process
		cancelAlloc()
		cancel()
	})
	require.NoError(t, chromedp.Do(tab), "starting chromium")
	return tab
}

// TestBrowser drives the application from a real browser, as its users
// meet it: login, flash, concurrent fetch() calls, the cookie as stored,
// the locking modes side by side, and a cross-origin form. It takes
// screenshots of the home page and of /slow.
func TestBrowser(t *testing.T) {
	tab := startBrowser(t)
	const work = 300 * time.Millisecond
	srv, eng, _ := serveAppWork(t, work)

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, "text of %s", sel)
		return s
	}
	present := func(sel string) bool {
		t.Helper()
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
		require.NoError(t, err)
		return ok
	}

	// Log in: a form POST, a redirect, and the flash, once.
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")))
	assert.Equal(t, "1", text("#visits"))
	require.NoError(t, chromedp.Do(tab, chromedp.SendKeys(chromedp.ID("name"), "ann")))
	resp, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.ID("login")))
	require.NoError(t, err)
	require.EqualValues(t, http.StatusOK, resp.Status, "login, after the redirect: %s", resp.URL)
	assert.Equal(t, "ann", text("#user"))
	assert.Equal(t, "Welcome, ann.", text("#flash"))
	require.NoError(t, chromedp.Do(tab, chromedp.Reload()))
	assert.Equal(t, "ann", text("#user"))
	assert.False(t, present("#flash"), "the flash is shown again after a reload")
	assert.Equal(t, "3", text("#visits"))

	// The session cookie, as the browser stored it.
	cookies, err := chromedp.Call(tab, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL}})
	require.NoError(t, err)
	var cookie *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == httpadapter.DefaultCookieName {
			cookie = c
		}
	}
	require.NotNil(t, cookie, "no session cookie in the browser: %v", cookies.Cookies)
	assert.True(t, cookie.HTTPOnly, "HttpOnly")
	assert.Equal(t, network.CookieSameSiteLax, cookie.SameSite)
	assert.Equal(t, "/", cookie.Path)
	assert.False(t, cookie.Secure, "Secure on plain HTTP")
	assert.False(t, cookie.Session, "a browser-session cookie, want Max-Age")
	expires := time.Unix(int64(cookie.Expires), 0)
	assert.WithinDuration(t, time.Now().Add(idleTimeout), expires, time.Minute, "cookie expiry")
	id := cookie.Value

	// 20 increments at once, with fetch() from the page: none lost.
	before := serverVisits(t, eng, id)
	answers, err := chromedp.Run(tab, chromedp.Evaluate[[]int]("increment(20)", chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	want := make([]int, 20)
	for i := range want {
		want[i] = before + 1 + i
	}
	assert.Equal(t, want, answers, "the counter values the 20 fetch() calls answered")
	assert.Equal(t, before+20, serverVisits(t, eng, id), "the counter in the session")
	assert.Equal(t, fmt.Sprint(before+20), text("#visits"))
	screenshot(t, tab, "example-app.png")

	// /slow runs two requests at once in each mode and draws them: the
	// Explicit pair overlaps, the Implicit pair takes turns.
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(srv.URL+"/slow")))
	require.NoError(t, chromedp.Do(tab, chromedp.WaitReady("body[data-compared=yes]")))
	ends, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](
		`["explicit-b", "implicit-b"].map(id => parseFloat(document.querySelector("#" + id + " em").textContent))`))
	require.NoError(t, err)
	require.Len(t, ends, 2)
	assert.Less(t, ends[0], 2*work.Seconds(), "the second Explicit request ended after %v s, want before two periods of work", ends[0])
	assert.GreaterOrEqual(t, ends[1], 2*work.Seconds(), "the second Implicit request ended after %v s, want after two periods of work", ends[1])
	screenshot(t, tab, "example-app-slow.png")

	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(srv.URL+"/session")))
	assert.Contains(t, text("#show"), "show "+persist.Key(id))
	screenshot(t, tab, "example-app-session.png")

	// A form on another origin (same site: another port of 127.0.0.1, so
	// SameSite=Lax sends the cookie) posts to /logout: refused.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form method=post action="%s/logout"><button id=attack>win a prize</button></form>`, srv.URL)
	}))
	defer evil.Close()
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(evil.URL)))
	resp, err = chromedp.RunResponse(tab, chromedp.Click(chromedp.ID("attack")))
	require.NoError(t, err)
	assert.EqualValues(t, http.StatusForbidden, resp.Status, "cross-origin POST /logout")
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")))
	assert.Equal(t, "ann", text("#user"), "logged out by another origin's form")

	// Log out everywhere from a second browser context (its own cookies,
	// as another browser has): the first one is logged out too.
	other, cancelOther := chromedp.NewContext(tab, chromedp.WithNewBrowserContext())
	defer cancelOther()
	require.NoError(t, chromedp.Do(other, chromedp.Navigate(srv.URL+"/")))
	otherVisits, err := chromedp.Run(other, chromedp.Text(chromedp.ID("visits")))
	require.NoError(t, err)
	require.Equal(t, "1", otherVisits, "the second context shares the first one's cookie")
	require.NoError(t, chromedp.Do(other, chromedp.SendKeys(chromedp.ID("name"), "ann")))
	resp, err = chromedp.RunResponse(other, chromedp.Click(chromedp.ID("login")))
	require.NoError(t, err)
	require.EqualValues(t, http.StatusOK, resp.Status)
	otherUser, err := chromedp.Run(other, chromedp.Text(chromedp.ID("user")))
	require.NoError(t, err)
	require.Equal(t, "ann", otherUser, "the second context is logged in")
	resp, err = chromedp.RunResponse(other, chromedp.Click(chromedp.ID("logout-everywhere")))
	require.NoError(t, err)
	require.EqualValues(t, http.StatusOK, resp.Status)
	require.NoError(t, chromedp.Do(tab, chromedp.Reload()))
	assert.True(t, present("#login"), "the first context is still logged in")
	assert.False(t, present("#user"))
	err = eng.Do(context.Background(), id, func(context.Context, *engine.Session) error { return nil })
	assert.ErrorIs(t, err, engine.ErrNotFound, "the first context's session")
}

// serverVisits reads the visit counter of session id in the engine.
func serverVisits(t *testing.T, eng *engine.Engine, id string) int {
	t.Helper()
	var n int
	err := eng.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
		n, _ = engine.Get[int](s, keyVisits)
		return nil
	})
	require.NoError(t, err)
	return n
}
