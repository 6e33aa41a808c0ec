// Package dashboard serves a small operator's page for a lockstep engine,
// to mount in an application behind its own login:
//
//	rec := dashboard.NewRecorder()
//	eng, err := engine.Open(dir, engine.Config{Observer: rec.Observer()})
//	...
//	admin := dashboard.Handler(eng, dashboard.Config{
//		Authorize: func(r *http.Request) bool { return isAdmin(r) },
//		Recorder:  rec,
//	})
//	mux.Handle("/admin/", http.StripPrefix("/admin", admin))
//
// It shows the engine's counters, with charts of the last ten minutes
// when a Recorder observes the engine (turns/s, waits/s, p50 and p99
// wait, hand-overs/s, commits/s, failures/s); the stored sessions by
// owner, with when each was created and expires, its size and whether a
// holder has it, on stores that can list them (persist.Inspector: the
// memory store, the file store, Redis, PostgreSQL; the page says so for
// one that cannot); one session's metadata, and its values only with
// Config.ShowValues; and two POST forms, "revoke owner"
// (Engine.DestroyOwner) and "remove session" (Engine.DestroyKey).
//
// Security: every request must pass Config.Authorize, and a nil Authorize
// refuses every request, so that mounting the handler never opens it to
// the world by mistake. The forms are protected by
// http.CrossOriginProtection (a cross-origin POST is refused), pages send
// a Content-Security-Policy that allows no script at all (there is none:
// html/template, inline SVG and CSS), and no response is cached. Sessions
// are named by their store key, never by their ID; values are shown only
// with ShowValues.
//
// The pages need no JavaScript, no framework and no CDN. Links are
// relative: mount the handler on a path ending in "/" with
// http.StripPrefix, as above.
//
// Handler and Recorder are safe for concurrent use, start no goroutine
// and need no closing.
package dashboard
