package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
)

// The dashboard is for logged-in users; /metrics serves the engine's
// OpenTelemetry metrics as Prometheus text.
func TestAdminAndMetrics(t *testing.T) {
	srv, _ := serveApp(t)
	visitor := newClient(t, srv)
	code, _ := visitor.do(http.MethodGet, "/admin/", nil)
	assert.Equal(t, http.StatusForbidden, code, "the dashboard without a login")

	ann := newClient(t, srv)
	ann.get("/") // a session, which the login regenerates
	ann.login("ann")
	admin := newClient(t, srv)
	admin.login("root")
	body := admin.get("/admin/")
	assert.Contains(t, body, "turns/s")
	body = admin.get("/admin/sessions")
	assert.Contains(t, body, persist.Key(ann.cookie()))
	assert.NotContains(t, body, ann.cookie(), "a session ID on the dashboard")

	code, _ = admin.do(http.MethodPost, "/admin/revoke", url.Values{"owner": {"ann"}})
	require.Equal(t, http.StatusSeeOther, code)
	assert.NotContains(t, ann.get("/"), "ann", "ann is still logged in after the revocation")

	metrics := admin.get("/metrics")
	for _, want := range []string{
		`lockstep_turn_wait_duration_seconds_bucket{`,
		`lockstep_turn_duration_seconds_count{`,
		`lockstep_commit_duration_seconds_count{lockstep_store="filestore"`,
		`lockstep_session_events_total{lockstep_event_kind="created"`,
		`lockstep_session_events_total{lockstep_event_kind="regenerated"`,
		`lockstep_session_resident{`,
	} {
		assert.Contains(t, metrics, want)
	}
}
