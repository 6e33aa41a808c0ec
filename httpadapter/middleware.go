package httpadapter

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/lockstep-go/lockstep/engine"
)

var (
	// ErrNoMiddleware is returned by Do, Regenerate and Destroy for a
	// request that did not pass through Middleware.
	ErrNoMiddleware = errors.New("httpadapter: the request did not pass through httpadapter.Middleware")

	// ErrRequestDone is returned by Do, Regenerate and Destroy called after
	// the handler of the request returned (for example from a goroutine
	// that outlived it).
	ErrRequestDone = errors.New("httpadapter: the request's handler has returned")

	// ErrHeaderWritten is returned by Regenerate once the response header
	// has been written: the new ID's cookie could not reach the client,
	// which would lose its session. Regenerate before writing the response.
	ErrHeaderWritten = errors.New("httpadapter: the response header was already written")
)

// adapter is what Middleware shares between the requests it serves.
type adapter struct {
	eng *engine.Engine
	cfg Config
	log *slog.Logger
	// The cookie's attributes after its value, without and with Secure
	// (for TLS requests): for a live cookie and for an expired one.
	attrs, expired [2]string
}

// Middleware returns net/http middleware that makes the session named by
// the request's cookie reachable through Do, Regenerate and Destroy, and
// sets, refreshes or expires the cookie on the response as they require.
// It mounts on http.ServeMux and any router that takes
// func(http.Handler) http.Handler. Several Middleware may share one
// Engine (with different Locking, say) if they use the same cookie; one
// request should pass through only one of them.
//
// A request that never calls Do, Regenerate or Destroy costs two small
// allocations (the per-request state and the request copy that carries
// it) and touches neither the engine nor the cookie.
//
// Middleware panics if eng is nil or cfg is invalid (a CookieName that is
// not a cookie token, an unknown Locking): both are programming errors,
// found when the server is wired up, as with http.ServeMux.Handle.
func Middleware(eng *engine.Engine, cfg Config) func(http.Handler) http.Handler {
	if eng == nil {
		panic("httpadapter: Middleware with a nil engine")
	}
	ecfg := eng.Config()
	cfg, err := cfg.withDefaults(ecfg.Logger)
	if err != nil {
		panic(err.Error())
	}
	a := &adapter{eng: eng, cfg: cfg, log: ecfg.Logger}
	maxAge := 0
	if !cfg.BrowserSession {
		maxAge = int((ecfg.IdleTimeout + time.Second - 1) / time.Second)
	}
	for i, secure := range []bool{false, true} {
		a.attrs[i] = cookieAttrs(&cfg, maxAge, false, secure)
		a.expired[i] = cookieAttrs(&cfg, 0, true, secure)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.serve(next, w, r)
		})
	}
}

func (a *adapter) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	s := &state{a: a, parent: r.Context(), rw: w}
	r = r.WithContext(s)
	s.req = r
	var ww http.ResponseWriter = (*writer)(s)
	if _, ok := w.(http.Hijacker); ok {
		ww = (*hijackWriter)(s)
	}
	finished := false
	defer func() {
		if !finished { // the handler panicked or called runtime.Goexit
			s.abort()
		}
	}()
	next.ServeHTTP(ww, r)
	finished = true
	s.finish(ww)
}

// state is one request's view of its session. It is also the request's
// context (to save an allocation) and, converted to writer or
// hijackWriter, its ResponseWriter. Like a ResponseWriter it belongs to
// the handler's goroutine: Do, Regenerate and Destroy must not be called
// concurrently for one request.
type state struct {
	a      *adapter
	parent context.Context
	rw     http.ResponseWriter // the wrapped writer
	req    *http.Request       // the request as the handler got it

	turn  *engine.Turn // the turn held (Implicit: from the first Do on; Explicit: inside Do)
	lazy  bool         // turn began without a session; a Set in it creates one
	depth int          // Do calls in progress
	dead  bool         // the held turn's session was destroyed: end the turn when depth is back to 0

	parsed     bool   // the cookie has been read (the session was touched)
	clientSent bool   // the request had a cookie with our name
	clientID   string // its value, if it is a well-formed ID, else ""
	id         string // the session's ID while no turn is held ("" for none)
	used       bool   // a turn on an existing session was taken: refresh the cookie
	destroyed  bool   // Destroy ran: expire the cookie

	wroteHeader bool   // the response header is written (or the connection hijacked)
	sentID      string // the session ID when the header was written
	done        bool   // the handler has returned
}

type stateKey struct{}

// Deadline, Done, Err and Value make state the request's context: the
// parent context with the state under stateKey.
func (s *state) Deadline() (time.Time, bool) { return s.parent.Deadline() }
func (s *state) Done() <-chan struct{}       { return s.parent.Done() }
func (s *state) Err() error                  { return s.parent.Err() }
func (s *state) Value(key any) any {
	if key == (stateKey{}) {
		return s
	}
	return s.parent.Value(key)
}

// stateOf returns the state Middleware put in r's context, if any: the
// context itself, or found under stateKey if the handler derived another.
func stateOf(r *http.Request) (*state, bool) {
	ctx := r.Context()
	if s, ok := ctx.(*state); ok {
		return s, true
	}
	s, ok := ctx.Value(stateKey{}).(*state)
	return s, ok
}

// from returns the state of r.
func from(r *http.Request) (*state, error) {
	s, ok := stateOf(r)
	switch {
	case !ok:
		return nil, ErrNoMiddleware
	case s.done:
		return nil, ErrRequestDone
	}
	s.load()
	return s, nil
}

// load reads the session cookie, once.
func (s *state) load() {
	if s.parsed {
		return
	}
	s.parsed = true
	s.clientID, s.clientSent = cookieID(s.req.Header, s.a.cfg.CookieName)
	s.id = s.clientID
}

// current returns the session's ID as it stands: the held turn's, or the
// last one known.
func (s *state) current() string {
	if s.turn != nil {
		return s.turn.ID()
	}
	return s.id
}

// Do runs fn in a turn of the request's session: the Go form of CherryPy's
// session_lock(). fn's ctx carries the turn (and derives from the
// request's context), so that engine calls on the same session with it
// run inline; s is valid only inside fn.
//
// If the request has no valid session (no cookie, or one naming a
// malformed, unknown, expired or destroyed session), s is empty, and the
// first s.Set creates a new session with a fresh ID, whose cookie goes out
// with the response. A request that only reads creates nothing.
//
// In Implicit mode the first Do takes the turn and keeps it until the
// handler returns; in Explicit mode each outermost Do takes it and
// commits and releases it when fn returns. A Do inside another Do of the
// same request runs inline in both modes. If fn returns an error or
// panics, its changes are rolled back and the error (or panic) goes on to
// the caller.
//
// Do returns what fn returns, or an error matching engine.ErrLockTimeout
// (the turn did not come in time), engine.ErrClosed, the request
// context's error, or an error committing the session (Explicit mode).
// Hand these to Error to answer the request as the ErrorHandler says.
// Outside Middleware, Do returns ErrNoMiddleware.
//
// Create the session (call the first Set) before writing the response:
// the cookie goes out with the response header.
func Do(r *http.Request, fn func(ctx context.Context, s *engine.Session) error) (err error) {
	s, err := from(r)
	if err != nil {
		return err
	}
	if s.turn == nil {
		if err := s.begin(r.Context()); err != nil {
			return err
		}
	}
	outer := s.depth == 0
	s.depth++
	defer func() {
		s.depth--
		if !outer || s.turn == nil {
			return
		}
		if s.a.cfg.Locking == Explicit || s.dead {
			if eerr := s.endTurn(); err == nil {
				err = eerr
			}
		}
	}()
	// If fn fails after its Set created the session in a lazy turn, the
	// engine undoes the creation with fn's other changes.
	return s.turn.Do(fn)
}

// begin takes the turn of the request's session, or a lazy turn if it has
// none.
func (s *state) begin(ctx context.Context) error {
	eng := s.a.eng
	if s.id != "" {
		t, err := eng.Begin(ctx, s.id)
		if err == nil {
			s.turn, s.lazy, s.used = t, false, true
			return nil
		}
		if !errors.Is(err, engine.ErrNotFound) {
			return err
		}
		s.id = "" // a client-supplied ID is never adopted
	}
	t, err := eng.BeginLazy(ctx)
	if err != nil {
		return err
	}
	s.turn, s.lazy = t, true
	return nil
}

// endTurn commits and releases the held turn and records the session's ID.
func (s *state) endTurn() error {
	t := s.turn
	s.turn, s.dead = nil, false
	id := t.ID() // read before End: afterwards the state is another turn's
	err := t.End()
	if err != nil && s.lazy {
		id = "" // the session created in this turn was not stored
	}
	s.id = id
	if id != "" {
		s.used = true
	}
	return err
}

// Regenerate gives the request's session a new ID and kills the old one,
// keeping its data; the response carries the new cookie with the same
// attributes. Call it when the user's privileges change (at login), before
// writing the response. It runs inline in the request's turn if it holds
// one (in Implicit mode after a Do, or inside a Do); s.ID() then returns
// the new ID.
//
// On a request without a session Regenerate does nothing and returns nil:
// the first Set will create a session with a fresh ID anyway. Once the
// response header is written it returns ErrHeaderWritten and changes
// nothing. Otherwise it returns engine errors as Do does.
func Regenerate(r *http.Request) error {
	s, err := from(r)
	if err != nil {
		return err
	}
	if s.current() == "" {
		return nil
	}
	if s.wroteHeader {
		return ErrHeaderWritten
	}
	if s.turn != nil {
		_, err := s.a.eng.Regenerate(s.turn.Context(), s.turn.ID())
		return err
	}
	newID, err := s.a.eng.Regenerate(r.Context(), s.id)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		s.id = "" // gone meanwhile: nothing to regenerate
		return nil
	case err != nil:
		return err
	}
	s.id, s.used = newID, true
	return nil
}

// Destroy deletes the request's session and expires its cookie. Call it at
// logout. It runs inline in the request's turn if it holds one; the rest
// of the outermost Do then sees an empty session whose changes are
// dropped, and a later Do of the request starts afresh (a Set creates a
// new session). Queued requests of the destroyed session find no session.
//
// On a request without a session Destroy only expires the cookie the
// client sent, if any. Once the response header is written the session is
// still destroyed, but the cookie is not expired. Destroy returns engine
// errors as Do does.
func Destroy(r *http.Request) error {
	s, err := from(r)
	if err != nil {
		return err
	}
	s.destroyed = true
	id := s.current()
	if id == "" {
		return nil
	}
	if s.turn != nil {
		if err := s.a.eng.Destroy(s.turn.Context(), id); err != nil {
			return err
		}
		if s.depth > 0 {
			s.dead = true
			return nil
		}
		return s.endTurn()
	}
	err = s.a.eng.Destroy(r.Context(), id)
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	s.id = ""
	return nil
}

// Error answers r with the ErrorHandler of the Middleware that r passed
// through (or the default one outside Middleware). Handlers use it for
// errors of Do they do not handle themselves:
//
//	if err := httpadapter.Do(r, fn); err != nil {
//		httpadapter.Error(w, r, err)
//		return
//	}
func Error(w http.ResponseWriter, r *http.Request, err error) {
	s, ok := stateOf(r)
	if !ok {
		defaultErrorHandler(slog.Default())(w, r, err)
		return
	}
	s.a.cfg.ErrorHandler(w, r, err)
}

// finish ends the request after its handler returned normally: it commits
// the held turn and makes sure the cookie goes out with the header.
func (s *state) finish(w http.ResponseWriter) {
	var err error
	if s.turn != nil {
		err = s.endTurn()
	}
	switch {
	case s.wroteHeader:
		if err != nil {
			s.a.log.Error("httpadapter: commit session after the response was written", "method", s.req.Method, "path", s.req.URL.Path, "err", err)
		} else if s.parsed && s.current() != s.sentID {
			s.a.log.Warn("httpadapter: session ID changed after the response header was written; the client did not get the cookie",
				"method", s.req.Method, "path", s.req.URL.Path)
		}
	case err != nil:
		s.a.cfg.ErrorHandler(w, s.req, err)
	default:
		s.prepare() // the handler wrote nothing: the server sends our header
	}
	s.done = true
}

// abort ends the request after its handler panicked: it ends the held turn
// (which commits the Do calls that returned, as Explicit mode would have)
// and leaves the response alone.
func (s *state) abort() {
	s.done = true
	if s.turn == nil {
		return
	}
	if err := s.endTurn(); err != nil {
		s.a.log.Error("httpadapter: commit session of a panicking handler", "method", s.req.Method, "path", s.req.URL.Path, "err", err)
	}
}
