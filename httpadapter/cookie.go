package httpadapter

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lockstep-go/lockstep/engine"
)

// maxCookieIDs is how many well-formed session IDs one request may offer
// in cookies of the session's name. Each costs a store lookup when it
// names no live session; browsers send a handful at most (one per path
// and domain that set one), so more are ignored rather than looked up.
const maxCookieIDs = 8

// cookieIDs walks, in order, the well-formed session IDs among the
// cookies of one name in a request's Cookie header lines, without
// allocating. Malformed values are skipped, so that a stray cookie of the
// same name (another application's, on another path) does not hide ours.
// The zero value has nothing to walk; start with newCookieIDs.
type cookieIDs struct {
	lines   []string // Cookie header lines not started yet
	rest    string   // the rest of the current line
	taken   int      // IDs returned so far
	present bool     // a cookie of the name was seen, well-formed or not
}

func newCookieIDs(h http.Header) cookieIDs {
	return cookieIDs{lines: h["Cookie"]}
}

// next returns the next well-formed ID in a cookie named name, or "" when
// there is none left (or maxCookieIDs were returned).
func (c *cookieIDs) next(name string) string {
	if c.taken >= maxCookieIDs {
		return ""
	}
	for {
		if c.rest == "" {
			if len(c.lines) == 0 {
				return ""
			}
			c.rest, c.lines = c.lines[0], c.lines[1:]
			continue
		}
		var part string
		part, c.rest, _ = strings.Cut(c.rest, ";")
		k, v, ok := strings.Cut(part, "=")
		if !ok || trimSpace(k) != name {
			continue
		}
		c.present = true
		v = trimSpace(v)
		if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if engine.ValidID(v) {
			c.taken++
			return v
		}
	}
}

// trimSpace trims the spaces and tabs that may surround a cookie's name
// and value.
func trimSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// prepare runs before the first byte of the response (its header, or a
// flush): in Implicit mode it commits the held turn, then it sets,
// refreshes or expires the session cookie if the request touched the
// session, and marks the header written. If the commit fails the
// ErrorHandler answers instead; prepare then reports false, now and on
// every later call, and the handler's response must be dropped.
func (s *requestState) prepare() bool {
	if s.wroteHeader {
		return s.failed == nil
	}
	if err := s.commitEarly(); err != nil {
		s.replace(err)
		return false
	}
	s.wroteHeader = true
	s.setCookie()
	return true
}

// commitEarly commits, before the response starts, the changes of an
// Implicit turn. While a Do is running (the handler writes from inside fn)
// it commits nothing, not even the changes of the Do calls that returned
// before (a commit takes all the turn's changes, and fn's error must still
// be able to roll its own back): they are committed when the running Do
// (for a session it created) or the handler returns. The package
// documentation says so.
func (s *requestState) commitEarly() error {
	if s.turn == nil || s.depth > 0 || s.a.cfg.Locking != Implicit {
		return nil
	}
	return s.commit()
}

// replace answers the request with the ErrorHandler for err, a failed
// commit, in place of the handler's response.
func (s *requestState) replace(err error) {
	s.wroteHeader = true
	s.failed = err
	s.setCookie()
	s.a.cfg.ErrorHandler(s.rw, s.req, err)
}

// errNotSaved is what the writer returns once the response was replaced.
func (s *requestState) errNotSaved() error {
	return fmt.Errorf("%w: %w", ErrNotSaved, s.failed)
}

// setCookie sets, refreshes or expires the session cookie in the header
// about to be written, if the request touched the session.
func (s *requestState) setCookie() {
	s.noteDestroyed()
	if !s.parsed { // the session was never touched
		return
	}
	id := s.current()
	s.sentID = id
	a := s.a
	tls := 0
	if s.req.TLS != nil {
		tls = 1
	}
	var cookie string
	switch {
	case id != "" && (id != s.clientID || s.used && !a.cfg.BrowserSession):
		attrs := a.attrs[tls]
		idle := s.idle
		if s.turn != nil {
			idle = s.turn.Session().IdleTimeout()
		}
		if idle != 0 && idle != a.idle && !a.cfg.BrowserSession {
			// The session's own idle timeout ("remember me").
			attrs = cookieAttrs(&a.cfg, a.maxAge(idle), false, tls == 1)
		}
		cookie = a.cfg.CookieName + "=" + id + attrs
	case id == "" && s.destroyed && s.cookies.present:
		cookie = a.cfg.CookieName + "=" + a.expired[tls]
	}
	h := s.rw.Header()
	vary := !hasVaryCookie(h)
	// Shared caches must not store a response that sets the cookie.
	noStore := false
	if cookie != "" {
		cc := h.Get("Cache-Control")
		noStore = !strings.Contains(cc, "no-store") && !strings.Contains(cc, "private")
	}
	// The new header values share one backing array; each key's slice is
	// capped, so that appending to it copies.
	vals := make([]string, 0, 3)
	if cookie != "" {
		if old := h["Set-Cookie"]; len(old) > 0 {
			h["Set-Cookie"] = append(old, cookie)
		} else {
			vals = append(vals, cookie)
			h["Set-Cookie"] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	if vary {
		if old := h["Vary"]; len(old) > 0 {
			h["Vary"] = append(old, "Cookie")
		} else {
			vals = append(vals, "Cookie")
			h["Vary"] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	if noStore {
		vals = append(vals, "no-store")
		h["Cache-Control"] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
}

// cookieAttrs returns the attributes that follow the session cookie's
// value: for a live cookie with maxAge seconds (0 for none) or, if expire,
// for an expired one; with Secure if secure.
func cookieAttrs(cfg *Config, maxAge int, expire, secure bool) string {
	var b strings.Builder
	b.WriteString("; Path=")
	b.WriteString(cfg.Path)
	if cfg.Domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(cfg.Domain)
	}
	switch {
	case expire:
		b.WriteString("; Expires=")
		b.WriteString(time.Unix(0, 0).UTC().Format(http.TimeFormat))
		b.WriteString("; Max-Age=0")
	case maxAge > 0:
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.Itoa(maxAge))
	}
	b.WriteString("; HttpOnly")
	if secure || cfg.Secure {
		b.WriteString("; Secure")
	}
	switch cfg.SameSite {
	case http.SameSiteLaxMode:
		b.WriteString("; SameSite=Lax")
	case http.SameSiteStrictMode:
		b.WriteString("; SameSite=Strict")
	case http.SameSiteNoneMode:
		b.WriteString("; SameSite=None")
	}
	return b.String()
}

// hasVaryCookie reports whether h's Vary header names Cookie (or is "*").
func hasVaryCookie(h http.Header) bool {
	for _, line := range h["Vary"] {
		for line != "" {
			var v string
			v, line, _ = strings.Cut(line, ",")
			if v = trimSpace(v); v == "*" || strings.EqualFold(v, "Cookie") {
				return true
			}
		}
	}
	return false
}
