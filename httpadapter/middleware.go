package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
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

	// ErrNotSaved is returned (wrapping the cause) by the ResponseWriter's
	// Write, ReadFrom, Flush and Hijack once committing the session before
	// the response failed (Implicit mode): the ErrorHandler has answered
	// the request instead, and the handler's response is dropped.
	ErrNotSaved = errors.New("httpadapter: the session could not be saved; the ErrorHandler answered the request")
)

// Adapter is the middleware for one Engine and Config: Wrap puts it in
// front of a handler, Stats counts what it could only log. It is safe for
// concurrent use by any number of requests.
type Adapter struct {
	eng *engine.Engine
	cfg Config
	log *slog.Logger
	// The cookie's attributes after its value, without and with Secure
	// (for TLS requests): for a live cookie of a session with the
	// engine's IdleTimeout (idle) and for an expired one.
	attrs, expired [2]string
	idle           time.Duration

	lostCommits atomic.Uint64 // see Stats.LostCommits
}

// Stats counts what an Adapter could not report to a client.
type Stats struct {
	// LostCommits counts requests whose last changes to their session were
	// not saved and whose client could not be told: the commit at the end
	// of the request failed after the response had started (Implicit
	// mode), or after the handler panicked. Each is also logged.
	LostCommits uint64
}

// New returns the Adapter for eng and cfg, or an error if eng is nil or
// cfg is invalid (see Config.Validate).
func New(eng *engine.Engine, cfg Config) (*Adapter, error) {
	if eng == nil {
		return nil, errors.New("httpadapter: nil engine")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ecfg := eng.Config()
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = defaultErrorHandler(ecfg.Logger)
	}
	a := &Adapter{eng: eng, cfg: cfg, log: ecfg.Logger, idle: ecfg.IdleTimeout}
	for i, secure := range []bool{false, true} {
		a.attrs[i] = cookieAttrs(&cfg, a.maxAge(a.idle), false, secure)
		a.expired[i] = cookieAttrs(&cfg, 0, true, secure)
	}
	return a, nil
}

// maxAge returns the cookie's Max-Age in seconds for a session with idle
// timeout idle, 0 for none (BrowserSession).
func (a *Adapter) maxAge(idle time.Duration) int {
	if a.cfg.BrowserSession {
		return 0
	}
	// engine.Config.Validate bounds the idle timeouts: no overflow.
	return int((idle + time.Second - 1) / time.Second)
}

// Middleware returns net/http middleware that makes the session named by
// the request's cookie reachable through Do, Regenerate and Destroy, and
// sets, refreshes or expires the cookie on the response as they require.
// It mounts on http.ServeMux and any router that takes
// func(http.Handler) http.Handler. Several Middleware may share one
// Engine (with different Locking, say) if they use the same cookie; one
// request should pass through only one of them.
//
// Middleware is New followed by Adapter.Wrap, for a configuration known
// to be valid: it panics, with New's error, if eng is nil or cfg is
// invalid, as http.ServeMux.Handle panics on a bad pattern, so that the
// mistake shows when the server is wired up. Use New to get the error
// instead (a configuration read from a file), and to read Stats.
func Middleware(eng *engine.Engine, cfg Config) func(http.Handler) http.Handler {
	a, err := New(eng, cfg)
	if err != nil {
		panic(err.Error())
	}
	return a.Wrap
}

// Wrap returns next behind the middleware (see Middleware).
//
// A request that never calls Do, Regenerate or Destroy costs two small
// allocations (the per-request state and the request copy that carries
// it) and touches neither the engine nor the cookie.
func (a *Adapter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.serve(next, w, r)
	})
}

// Stats returns the Adapter's counters.
func (a *Adapter) Stats() Stats {
	return Stats{LostCommits: a.lostCommits.Load()}
}

func (a *Adapter) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	s := &requestState{a: a, parent: r.Context(), rw: w, mark: a.eng.Destroyed()}
	s.readOnly = a.cfg.Locking == Implicit && a.cfg.ReadOnly != nil && a.cfg.ReadOnly(r)
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
	s.finish()
}

// requestState is one request's view of its session. It is also the request's
// context (to save an allocation) and, converted to writer or
// hijackWriter, its ResponseWriter. Like a ResponseWriter it belongs to
// the handler's goroutine: Do, Regenerate and Destroy must not be called
// concurrently for one request.
type requestState struct {
	a      *Adapter
	parent context.Context
	rw     http.ResponseWriter // the wrapped writer
	req    *http.Request       // the request as the handler got it

	turn *engine.Turn // the turn held (Implicit: from the first Do or View on; Explicit: inside them)
	lazy bool         // turn began without a session; a Set in it creates one
	// carried mirrors turn for other goroutines: the request's context
	// carries the turn, so that engine calls with it run inline.
	carried  atomic.Pointer[engine.Turn]
	readOnly bool // Implicit mode, and Config.ReadOnly marked the request
	depth    int  // Do calls in progress
	dead     bool // the held turn's session was destroyed: end the turn when depth is back to 0

	parsed    bool          // the cookie has been read (the session was touched)
	cookies   cookieIDs     // the IDs in the request's session cookies, from the next one on
	clientID  string        // the client's ID in use: the last one taken from cookies
	id        string        // the session's ID while no turn is held ("" for none)
	used      bool          // a turn on an existing session was taken: refresh the cookie
	destroyed bool          // Destroy ran: expire the cookie
	mark      uint64        // the engine's count of destroyed sessions when the request began
	idle      time.Duration // the session's idle timeout when its last turn ended; 0 if unknown

	wroteHeader bool   // the response header is written (or the connection hijacked)
	sentID      string // the session ID when the header was written
	failed      error  // the commit before the response failed: the ErrorHandler answered

	// done is set as soon as the handler has returned, before the request
	// is finished: a goroutine that outlives the handler may call Do,
	// Regenerate or Destroy, and must then get ErrRequestDone without
	// touching anything else.
	done atomic.Bool
}

type stateKey struct{}

// Deadline, Done, Err and Value make requestState the request's context: the
// parent context with the state under stateKey and, while the request
// holds a turn, the turn (so that engine calls with the request's context
// are re-entrant with it).
func (s *requestState) Deadline() (time.Time, bool) { return s.parent.Deadline() }
func (s *requestState) Done() <-chan struct{}       { return s.parent.Done() }
func (s *requestState) Err() error                  { return s.parent.Err() }
func (s *requestState) Value(key any) any {
	if key == (stateKey{}) {
		return s
	}
	if t := s.carried.Load(); t != nil {
		return t.Context().Value(key)
	}
	return s.parent.Value(key)
}

// base is the request's context without the turn: the context the turn
// itself is taken with, whose values must not lead back to the turn.
type base requestState

func (b *base) Deadline() (time.Time, bool) { return b.parent.Deadline() }
func (b *base) Done() <-chan struct{}       { return b.parent.Done() }
func (b *base) Err() error                  { return b.parent.Err() }
func (b *base) Value(key any) any {
	if key == (stateKey{}) {
		return (*requestState)(b)
	}
	return b.parent.Value(key)
}

// setTurn makes t the request's held turn (nil: none).
func (s *requestState) setTurn(t *engine.Turn) {
	s.turn = t
	s.carried.Store(t)
}

// stateOf returns the state Middleware put in r's context, if any: the
// context itself, or found under stateKey if the handler derived another.
func stateOf(r *http.Request) (*requestState, bool) {
	ctx := r.Context()
	if s, ok := ctx.(*requestState); ok {
		return s, true
	}
	s, ok := ctx.Value(stateKey{}).(*requestState)
	return s, ok
}

// from returns the state of r.
func from(r *http.Request) (*requestState, error) {
	s, ok := stateOf(r)
	switch {
	case !ok:
		return nil, ErrNoMiddleware
	case s.done.Load():
		return nil, ErrRequestDone
	}
	s.load()
	return s, nil
}

// load reads the first session ID from the cookies, once.
func (s *requestState) load() {
	if s.parsed {
		return
	}
	s.parsed = true
	s.cookies = newCookieIDs(s.req.Header)
	s.nextCookie()
}

// notFound moves on after s.id was found to name no live session: to the
// client's next ID if s.id was one the client sent that this request has
// not used yet, else to no session (the session it used is gone).
func (s *requestState) notFound() {
	if s.used {
		s.id = ""
		return
	}
	s.nextCookie()
}

// onLive runs op on the session the request names: on s.id and, each
// time op returns engine.ErrNotFound, on the ID notFound moves on to, until
// no ID is left. It reports whether op succeeded on one; err is op's first
// other error, or nil.
func (s *requestState) onLive(op func(id string) error) (found bool, err error) {
	for s.id != "" {
		err := op(s.id)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, engine.ErrNotFound) {
			return false, err
		}
		s.notFound()
	}
	return false, nil
}

// nextCookie moves on to the next ID the client sent, after the current
// one named no live session; s.id is "" when there is none left. A
// client-supplied ID is never adopted: it is used only if it is live.
func (s *requestState) nextCookie() {
	s.clientID = s.cookies.next(s.a.cfg.CookieName)
	s.id = s.clientID
}

// current returns the session's ID as it stands: the held turn's, or the
// last one known.
func (s *requestState) current() string {
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
// handler returns, and its changes are committed before the response
// starts; in Explicit mode each outermost Do takes it and
// commits and releases it when fn returns. A Do inside another Do of the
// same request runs inline in both modes. If fn returns an error or
// panics, its changes are rolled back and the error (or panic) goes on to
// the caller.
//
// Calls to the engine with the request's context (r.Context(), or one
// derived from it) while the request holds its turn are re-entrant with
// it: Do, View, Regenerate, Destroy and DestroyOwner on the request's own
// session run inline instead of waiting for themselves. Goroutines that
// share the request's context enter the turn one at a time (while the
// handler is not inside Do or View). After DestroyOwner destroyed the
// request's own session, with its turn or (outside Do) without, the
// request goes on as after Destroy: the cookie is expired and a later Set
// creates a new session.
//
// In a request that Config.ReadOnly marked (Implicit mode), Do returns
// engine.ErrReadOnly.
//
// Do returns what fn returns, or an error matching engine.ErrLockTimeout
// (the turn did not come in time), engine.ErrClosed, the request
// context's error, or an error committing the session (Explicit mode;
// in Implicit mode, only for the Do whose Set created a new session that
// could not be stored: see the package documentation for when Implicit
// mode commits).
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
	if s.readOnly {
		return fmt.Errorf("%w: Do in a request marked read-only", engine.ErrReadOnly)
	}
	return s.run(r, false, fn)
}

// View runs fn in a shared turn of the request's session, as
// engine.Engine.View does: fn may only read, and a change it makes is not
// applied and makes View return engine.ErrReadOnly. A View never creates a
// session: on a request without one, fn sees an empty session.
//
// In Explicit mode View takes the shared turn for its own duration, so
// that Views of one session's requests run together. In Implicit mode the
// first View (or Do) of a request takes the turn and keeps it until the
// handler returns: a shared turn if Config.ReadOnly marked the request,
// the exclusive turn otherwise (the request may write later). A View
// inside a Do, or inside the turn an Implicit request holds, runs inline
// and sees the changes made so far. View returns what fn returns, and the
// errors Do returns.
func View(r *http.Request, fn func(ctx context.Context, s *engine.Session) error) error {
	s, err := from(r)
	if err != nil {
		return err
	}
	return s.run(r, true, fn)
}

// run is Do (view false) and View: it takes the request's turn if none is
// held, runs fn in it and lets the turn go as the locking mode says.
func (s *requestState) run(r *http.Request, view bool, fn func(ctx context.Context, s *engine.Session) error) (err error) {
	if s.turn != nil && s.depth == 0 && s.gone() {
		// The session was destroyed under the held turn (DestroyOwner
		// with the request's context): go on as after Destroy.
		s.destroyed = true
		if err := s.endTurn(); err != nil {
			return err
		}
	}
	if s.turn == nil {
		s.noteDestroyed()
		shared := view && (s.readOnly || s.a.cfg.Locking == Explicit)
		if err := s.begin(shared); err != nil {
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
		switch {
		case s.a.cfg.Locking == Explicit || s.dead || s.gone():
			if eerr := s.endTurn(); err == nil {
				err = eerr
			}
		case s.lazy && err == nil && !view:
			// Implicit: a session this Do created is stored now, so that
			// a failure to create it is this Do's error.
			err = s.commit()
		}
	}()
	// fn gets the request's context as the caller holds it: its values
	// stay, and it carries the turn. If fn fails after its Set created the
	// session in a lazy turn, the engine undoes the creation with fn's
	// other changes.
	ctx := r.Context()
	inner := func(_ context.Context, sess *engine.Session) error { return fn(ctx, sess) }
	if view {
		return s.turn.View(inner)
	}
	return s.turn.Do(inner)
}

// noteDestroyed makes the request go on as after Destroy if the engine
// destroyed its session while the request held no turn (DestroyOwner with
// the request's context, outside Do): the cookie is expired, and a later
// Do starts a new session. Unless the engine destroyed some session since
// the request began, it costs one atomic load.
func (s *requestState) noteDestroyed() {
	eng := s.a.eng
	if s.turn != nil || s.destroyed || eng.Destroyed() == s.mark {
		return
	}
	id := s.id
	if !s.parsed { // the handler did not touch the session: only look
		c := newCookieIDs(s.req.Header)
		id = c.next(s.a.cfg.CookieName)
	}
	if id == "" {
		return
	}
	if gone, _ := eng.DestroyedSince(id, s.mark); !gone {
		return
	}
	s.load() // the ID it takes is id
	s.destroyed, s.id = true, ""
}

// gone reports whether the session of the held turn was destroyed.
func (s *requestState) gone() bool {
	return !s.lazy && s.turn.ID() == ""
}

// begin takes the turn of the request's session (shared if asked), or a
// lazy turn if it has none.
func (s *requestState) begin(shared bool) error {
	eng := s.a.eng
	ctx := (*base)(s)
	found, err := s.onLive(func(id string) error {
		var t *engine.Turn
		var err error
		if shared {
			t, err = eng.BeginView(ctx, id)
		} else {
			t, err = eng.Begin(ctx, id)
		}
		if err == nil {
			s.setTurn(t)
			s.lazy, s.used = false, true
		}
		return err
	})
	if found || err != nil {
		return err
	}
	t, err := eng.BeginLazy(ctx)
	if err != nil {
		return err
	}
	s.setTurn(t)
	s.lazy = true
	return nil
}

// commit makes the held turn's changes durable, keeping the turn. After
// it, the session of a lazy turn exists (or, if it failed, does not).
func (s *requestState) commit() error {
	err := s.turn.Commit()
	if err == nil && s.turn.ID() != "" {
		s.lazy = false // the session is stored: a later failure does not undo it
	}
	return err
}

// endTurn commits and releases the held turn and records the session's ID.
func (s *requestState) endTurn() error {
	t := s.turn
	if s.gone() {
		s.destroyed = true
	}
	s.setTurn(nil)
	s.dead = false
	id := t.ID() // read before End: afterwards the state is another turn's
	s.idle = t.Session().IdleTimeout()
	err := t.End()
	if err != nil {
		s.idle = 0 // a new idle timeout may have been rolled back
		if s.lazy {
			id = "" // the session created in this turn was not stored
		}
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
	if s.readOnly {
		return fmt.Errorf("%w: Regenerate in a request marked read-only", engine.ErrReadOnly)
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
	_, err = s.onLive(func(id string) error {
		newID, err := s.a.eng.Regenerate(r.Context(), id)
		if err == nil {
			s.id, s.used = newID, true
		}
		return err
	})
	return err // nil too when no session is live: nothing to regenerate
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
	if s.readOnly {
		return fmt.Errorf("%w: Destroy in a request marked read-only", engine.ErrReadOnly)
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
	_, err = s.onLive(func(id string) error {
		err := s.a.eng.Destroy(r.Context(), id)
		if err == nil {
			s.id = ""
		}
		return err
	})
	return err
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

// finish ends the request after its handler returned normally: it
// commits and releases the held turn and makes sure the cookie goes out
// with the header. If the handler wrote nothing, a failed commit is the
// response; afterwards it is logged and counted.
func (s *requestState) finish() {
	s.done.Store(true)
	id := s.current()
	var err error
	if s.turn != nil {
		err = s.endTurn()
	}
	switch {
	case !s.wroteHeader && err != nil:
		s.replace(err)
	case !s.wroteHeader: // the server sends our header
		s.wroteHeader = true
		s.setCookie()
	case err != nil:
		s.lost("httpadapter: session changes made after the response started were not saved", id, err)
	case s.parsed && s.failed == nil && s.current() != s.sentID:
		s.a.log.Warn("httpadapter: session ID changed after the response header was written; the client did not get the cookie",
			"session", redact(id), "method", s.req.Method, "path", s.req.URL.Path)
	}
}

// abort ends the request after its handler panicked: it ends the held turn
// (which commits the Do calls that returned, as Explicit mode would have)
// and leaves the response alone.
func (s *requestState) abort() {
	s.done.Store(true)
	if s.turn == nil {
		return
	}
	id := s.current()
	if err := s.endTurn(); err != nil {
		s.lost("httpadapter: session changes of a panicking handler were not saved", id, err)
	}
}

// lost logs and counts a commit whose failure the client cannot learn.
func (s *requestState) lost(msg, id string, err error) {
	s.a.lostCommits.Add(1)
	s.a.log.Warn(msg, "session", redact(id), "method", s.req.Method, "path", s.req.URL.Path, "err", err)
}

// redact shortens a session ID for logs: IDs are bearer secrets.
func redact(id string) string {
	if len(id) > 6 {
		return id[:6] + "…"
	}
	return id
}
