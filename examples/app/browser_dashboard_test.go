package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// screenshotDir, when set, is where TestBrowserDashboard saves its
// screenshots (docs/dashboard.png and docs/dashboard-sessions.png come
// from `go test -run TestBrowserDashboard ./app -screenshots ../docs`).
var screenshotDir = flag.String("screenshots", "", "save the dashboard's screenshots in this directory")

// TestBrowserDashboard drives the dashboard at /admin/ from a real browser:
// one user is logged in in one browser context, an operator in another
// revokes that user from the dashboard, and the first context is logged
// out.
func TestBrowserDashboard(t *testing.T) {
	tab := startBrowser(t)
	srv, eng := serveApp(t)
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, "text of %s", sel)
		return s
	}
	present := func(ctx context.Context, sel string) bool {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
		require.NoError(t, err)
		return ok
	}
	login := func(ctx context.Context, user string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")))
		require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("name"), user)))
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("login")))
		require.NoError(t, err)
		require.EqualValues(t, http.StatusOK, resp.Status)
		require.Equal(t, user, text(ctx, "#user"))
	}
	shoot := func(ctx context.Context, name string) {
		t.Helper()
		dir := *screenshotDir
		if dir == "" {
			dir = t.TempDir()
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	}

	// ann, in the first context, with some traffic for the charts.
	login(tab, "ann")
	_, err := chromedp.Run(tab, chromedp.Evaluate[[]int]("increment(20)", chromedp.EvalAwaitPromise))
	require.NoError(t, err)

	// The operator, in a second context (cookies of its own).
	op, cancel := chromedp.NewContext(tab, chromedp.WithNewBrowserContext())
	defer cancel()
	require.NoError(t, chromedp.Do(op, chromedp.EmulateViewport(1200, 900)))
	require.NoError(t, chromedp.Do(op, chromedp.Navigate(srv.URL+"/admin/")))
	assert.False(t, present(op, "#user"), "the dashboard is open to a visitor")
	login(op, "root")
	require.NoError(t, chromedp.Do(op, chromedp.Navigate(srv.URL+"/admin/")))
	assert.Contains(t, text(op, "main"), "turns/s")
	assert.True(t, present(op, "svg polyline"), "charts")
	shoot(op, "dashboard.png")

	require.NoError(t, chromedp.Do(op, chromedp.Navigate(srv.URL+"/admin/sessions")))
	assert.Contains(t, text(op, "main"), "ann")
	shoot(op, "dashboard-sessions.png")
	resp, err := chromedp.RunResponse(op, chromedp.Click(chromedp.CSS(`form[action="revoke"]:has(input[value="ann"]) button`)))
	require.NoError(t, err)
	require.EqualValues(t, http.StatusOK, resp.Status, "revoke, after the redirect: %s", resp.URL)
	assert.Contains(t, text(op, ".msg"), `Revoked "ann": 1 session destroyed.`)
	assert.Equal(t, srv.URL+"/admin/sessions", resp.URL[:len(srv.URL+"/admin/sessions")], "back on the sessions page")

	// ann's browser is logged out; the operator is not.
	require.NoError(t, chromedp.Do(tab, chromedp.Reload()))
	assert.True(t, present(tab, "#login"), "ann is still logged in")
	assert.False(t, present(tab, "#user"))
	require.NoError(t, chromedp.Do(op, chromedp.Navigate(srv.URL+"/")))
	assert.Equal(t, "root", text(op, "#user"))
	assert.Zero(t, countOwned(t, eng, "ann"))
}

// countOwned counts the stored sessions of owner.
func countOwned(t *testing.T, eng *engine.Engine, owner string) int {
	t.Helper()
	ins, ok := eng.Store().(persist.Inspector)
	require.True(t, ok, "the file store lists its sessions")
	n := 0
	require.NoError(t, ins.Sessions(context.Background(), owner, func(persist.Info) error { n++; return nil }))
	return n
}
