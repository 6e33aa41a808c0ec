// Package httpadapter puts lockstep sessions behind net/http: a middleware
// that reads and writes the session cookie, and Do, the Go form of
// CherryPy's session_lock(), that runs a function in the session's turn.
//
//	eng, err := engine.Open("/var/lib/myapp/sessions", engine.Config{})
//	...
//	defer eng.Close()
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
//		var n int
//		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
//			n, _ = engine.Get[int](s, "visits")
//			n++
//			s.Set("visits", n)
//			return nil
//		})
//		if err != nil {
//			httpadapter.Error(w, r, err)
//			return
//		}
//		fmt.Fprintf(w, "visit %d\n", n)
//	})
//	http.ListenAndServe(addr, httpadapter.Middleware(eng, httpadapter.Config{})(mux))
//
// # Sessions and cookies
//
// Sessions are lazy. A request without a valid session cookie (none, or one
// naming a malformed, unknown, expired or destroyed session) sees an empty
// session and creates nothing, no session, no file and no cookie, unless it
// calls Set: the first Set creates a session with a fresh ID, and the
// response carries its cookie. A client-supplied ID is never adopted.
//
// A request may carry several cookies of the session's name (a browser
// sends one per path and domain that set one, most specific path first):
// the first that names a live session is used, so a stale cookie does not
// hide the live one. Malformed values are skipped without a lookup, and
// only the first eight well-formed ones are looked up.
//
// The cookie is HttpOnly, SameSite=Lax, Path=/, Secure on TLS requests (or
// always with Config.Secure), and has Max-Age equal to the session's idle
// timeout unless Config.BrowserSession: the engine's IdleTimeout, or the
// session's own for a "remember me" login (engine.Session.SetIdleTimeout
// within engine.Config.MaxIdleTimeout). Every response of a request
// that used the session sends it again, so its expiry slides as the
// session's does. Responses that set the cookie also say "Vary: Cookie"
// and "Cache-Control: no-store" (unless the handler chose no-store or
// private), so that shared caches do not keep them. The cookie is added
// when the response header is written, so create, Regenerate or Destroy
// the session before writing the response; Regenerate refuses with
// ErrHeaderWritten afterwards. The engine's Lifetime is not reflected in
// Max-Age: the session dies at its Lifetime while the cookie may live on,
// and is then ignored.
//
// # Locking modes
//
// In Implicit mode (the default, CherryPy's "implicit" locking) the first
// Do of a request takes the session's turn and holds it until the handler
// returns: requests of one session that use it run one after the other,
// and everything they do between their first Do and their return sees no
// interference. Requests that never call Do are not serialised.
//
// Implicit mode commits before the response starts, as CherryPy saves in
// before_finalize: when the response starts outside any Do, the changes of
// the Do calls that returned are saved before the first byte goes out
// (WriteHeader, Write, ReadFrom, Flush or Hijack on the ResponseWriter, or
// the handler's return if it wrote nothing), so that a client never gets a
// success for changes that were not saved. If that commit fails (a value
// that cannot be encoded, a full disk) its changes are rolled back and
// Config.ErrorHandler answers the request in place of the handler, whose
// later writes are dropped and return an error matching ErrNotSaved. A new
// session is stored by the Do whose Set created it: if it cannot be, that
// Do returns the error and no cookie is sent.
//
// A response started from inside a Do's fn commits nothing: fn's error
// must still be able to roll its changes back, and the turn commits all
// its changes at once, so the changes of the Do calls that returned before
// wait too. Everything not committed when the response started is
// committed when the handler returns (a session created by the running Do:
// when that Do returns); the client cannot learn of a failure then, so it
// is logged at Warn and counted in Adapter.Stats. The cookie of a session
// that the running Do created goes out with that header all the same: if
// the Do then fails, or its session cannot be stored, the cookie names no
// session, and the client's next request is treated as one without a
// session. Start the response outside Do to have the guarantees above.
//
// In Explicit mode the turn is held only inside Do, and each outermost Do
// commits when it returns. Requests of one session overlap everywhere
// else: put slow work (remote calls, rendering) outside Do, and keep a
// read-modify-write inside one Do to lose no update.
//
// In both modes a Do inside another Do of the same request runs inline (it
// never deadlocks), so does an engine call with the ctx that Do passes to
// fn, and the turn is always released when the handler returns, also when
// it panics. If the handler panics after a Do returned, that Do's changes
// are committed, as in Explicit mode; fn's own changes are rolled back if
// fn returns an error or panics.
//
// Engine calls a handler makes with the request's own context
// (r.Context(), or a context derived from it) are re-entrant with the turn
// the request holds, in both modes: Do, View, Regenerate, Destroy and
// DestroyOwner on the request's session run inline instead of waiting for
// themselves. DestroyOwner ("log out everywhere") from a handler destroys
// the request's own session too, and the request goes on as after
// Destroy: its cookie is expired, and a later Set creates a new session.
// That holds also while the request holds no turn (Explicit mode outside
// Do, or before the first Do): DestroyOwner then destroys the session in a
// turn of its own, and the adapter learns of it from the engine
// (Engine.DestroyedSince) before it writes the cookie or takes a turn.
// Goroutines that share the request's context (an errgroup) enter the held
// turn one at a time.
//
// # Read-only requests
//
// View runs fn in a shared turn: the read-only requests of one session run
// together instead of one after the other. In Explicit mode View takes the
// shared turn for its own duration. In Implicit mode, Config.ReadOnly says
// which requests only read (AJAX reads, pages that only show the session):
// they take a shared turn held until the handler returns, a Do in them
// returns engine.ErrReadOnly, and they never create a session. Do not mark
// a request that writes, even rarely: one that shows a flash message
// (engine.Pop deletes it), a logout by GET, an OAuth callback, the first
// visit that creates a CSRF token. Unmarked requests take the exclusive
// turn at their first View or Do, as they may write later.
//
// In Implicit mode a handler that hijacks the connection or streams for a
// long time holds its session's turn until it returns: use Explicit mode
// for such handlers (two Middleware with different Locking may share an
// Engine and a cookie), or do not call Do in them.
//
// # Concurrency
//
// New, Middleware, Do, View, Regenerate, Destroy and Error are safe to use from many
// requests at once. Within one request they belong to the handler's
// goroutine, as the http.ResponseWriter does: do not call them from two
// goroutines at a time. Called after the handler returned (from a
// goroutine that outlived it) they return ErrRequestDone. Put Middleware inside http.TimeoutHandler, not outside
// it. The package starts no goroutines and holds nothing that needs to be
// closed; close the Engine after the server has shut down.
//
// # Errors
//
// Do returns fn's error unchanged, or an engine error: one matching
// engine.ErrLockTimeout if the turn did not come within the engine's
// LockTimeout, engine.ErrReadOnly in a read-only request (and from a View
// whose fn changed the session), engine.ErrDeadlock for a wait that would
// close a cycle of turns, engine.ErrClosed after the engine closed, the request
// context's error if the client went away, or a store error. Hand the
// ones you do not handle to Error, which answers with Config.ErrorHandler
// (by default 503 with Retry-After for lock timeouts and a closed engine,
// 500 otherwise). The middleware calls ErrorHandler itself when the commit
// before the response fails (Implicit mode, see above); failures after the
// response started are logged to the engine's Logger and counted. A
// request that did not pass through Middleware gets ErrNoMiddleware.
//
// # Configuration
//
// New checks its Config (Config.Validate) and returns an error for one that
// cannot work: a cookie that http.Cookie.Valid refuses or that browsers
// would drop (the __Host- and __Secure- prefix rules, SameSite=None
// without Secure). Middleware, whose signature has no error, panics with
// that error instead, when the server is wired up; use New for a
// configuration that comes from outside the program. The engine's own
// Config is checked by engine.Open and engine.New (durations that would
// overflow the clock and the cookie's Max-Age are refused there).
//
// # With chi, echo and gin
//
// The middleware is a plain func(http.Handler) http.Handler, and Do takes
// the *http.Request that went through it. chi: r.Use(mw). echo (v4):
// e.Use(echo.WrapMiddleware(mw)), then httpadapter.Do(c.Request(), fn).
// gin's handlers write to c.Writer, not to the writer the middleware passes
// on, so the cookie would miss the response: swap the writer.
//
//	func lockstepGin(mw func(http.Handler) http.Handler) gin.HandlerFunc {
//		return func(c *gin.Context) {
//			mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//				c.Request = r                                        // carries the session
//				c.Writer = ginWriter{ResponseWriter: c.Writer, w: w} // the cookie goes out with the header
//				c.Next()
//			})).ServeHTTP(c.Writer, c.Request)
//		}
//	}
//
//	// ginWriter writes through the middleware's writer w, which writes to
//	// gin's own writer underneath: that one still answers Status, Size
//	// and Written.
//	type ginWriter struct {
//		gin.ResponseWriter
//		w http.ResponseWriter
//	}
//
//	func (g ginWriter) Header() http.Header               { return g.w.Header() }
//	func (g ginWriter) WriteHeader(code int)              { g.w.WriteHeader(code) }
//	func (g ginWriter) Write(b []byte) (int, error)       { return g.w.Write(b) }
//	func (g ginWriter) WriteString(s string) (int, error) { return io.WriteString(g.w, s) }
//	func (g ginWriter) Flush()                            { http.NewResponseController(g.w).Flush() }
//	func (g ginWriter) Unwrap() http.ResponseWriter       { return g.w }
//	func (g ginWriter) WriteHeaderNow() {
//		if !g.Written() {
//			g.w.WriteHeader(g.Status())
//		}
//	}
package httpadapter
