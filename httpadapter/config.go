package httpadapter

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lockstep-go/lockstep/engine"
)

// DefaultCookieName is the session cookie's name when Config.CookieName is
// empty, as in CherryPy.
const DefaultCookieName = "session_id"

// Locking says how long a request holds its session's turn.
type Locking int

const (
	// Implicit: the first Do of a request takes the session's turn, and the
	// request keeps it until the handler returns. Concurrent requests of
	// one session that use it run one after the other. The changes of all
	// their Do calls are committed together before the first byte of the
	// response (a failure becomes the ErrorHandler's response), and what
	// changes after that when the handler returns. This is CherryPy's
	// default ("implicit" locking), which saves in before_finalize.
	Implicit Locking = iota
	// Explicit: the turn is held only inside Do, and the changes are
	// committed when the outermost Do returns. Requests of one session
	// overlap everywhere else, so a slow handler does not hold up the
	// others as long as its slow part is outside Do.
	Explicit
)

// String returns the mode's name, as in "Implicit".
func (l Locking) String() string {
	switch l {
	case Implicit:
		return "Implicit"
	case Explicit:
		return "Explicit"
	}
	return fmt.Sprintf("Locking(%d)", int(l))
}

// Config configures Middleware. The zero value is a working configuration.
type Config struct {
	// CookieName is the session cookie's name. Default "session_id". A
	// name that starts with "__Host-" needs Secure, Path "/" and no
	// Domain; one that starts with "__Secure-" needs Secure.
	CookieName string

	// Path is the cookie's Path attribute. Default "/". It must start
	// with '/' and contain no ';' nor control characters.
	Path string

	// Domain is the cookie's Domain attribute, a host name. Default none:
	// the cookie is sent back to the host that set it only.
	Domain string

	// SameSite is the cookie's SameSite attribute. The zero value means
	// http.SameSiteLaxMode; http.SameSiteDefaultMode sends no SameSite
	// attribute (browsers then apply their own default, Lax in most).
	// SameSite=None needs Secure: browsers drop the cookie otherwise.
	SameSite http.SameSite

	// Secure sends the cookie with the Secure attribute on every response.
	// It is sent on responses to TLS requests whatever this says. Default
	// false; set it when TLS ends at a proxy in front of the server.
	Secure bool

	// BrowserSession leaves Max-Age out of the cookie, so that it dies with
	// the browser (CherryPy's persistent=False). By default the cookie has
	// Max-Age equal to the session's idle timeout (the engine's
	// IdleTimeout, or the session's own: engine.Session.SetIdleTimeout),
	// refreshed on every response of a request that used the session
	// (sliding expiry).
	// Regenerate keeps this choice.
	BrowserSession bool

	// Locking chooses between Implicit (the default) and Explicit locking.
	Locking Locking

	// ReadOnly marks the requests that only read their session (nil, the
	// default: none). In Implicit mode such a request takes a shared turn
	// at its first View, held until the handler returns, so that the
	// read-only requests of one session run together; a Do, Regenerate or
	// Destroy in it returns engine.ErrReadOnly, and it never creates a
	// session. A request it does not mark takes the exclusive turn at its
	// first View or Do, as it may write later. Explicit mode ignores it:
	// there a View takes the shared turn for its own duration.
	ReadOnly func(*http.Request) bool

	// ErrorHandler answers a request whose session failed in a way that the
	// handler could not see: committing the session before the response
	// started (Implicit mode) failed. It writes to the ResponseWriter the
	// handler was given, with whatever header the handler had set; the
	// handler's own response is then dropped. Handlers can hand the errors
	// of Do to it with Error.
	// Default: 503 Service Unavailable with "Retry-After: 1" for
	// engine.ErrLockTimeout and engine.ErrClosed, 500 Internal Server
	// Error otherwise (logged to the engine's Logger); the body is the
	// status text, never the error.
	ErrorHandler func(http.ResponseWriter, *http.Request, error)
}

// Validate reports why cfg cannot work, or nil. New and Middleware check
// it. It refuses, after the defaults are filled in:
//   - a CookieName that is not an RFC 6265 token;
//   - a Path or Domain that http.Cookie.Valid refuses (a Path with ';' or
//     a control character, a Domain that is not a host name), and a Path
//     that does not start with '/' (browsers would ignore it);
//   - a name with the __Host- prefix without Secure, with a Domain, or
//     with a Path other than "/", and one with the __Secure- prefix
//     without Secure (browsers drop such cookies; prefixes are matched
//     without regard to case, as browsers do);
//   - SameSite=None without Secure (browsers drop it), and an unknown
//     SameSite or Locking.
func (cfg Config) Validate() error {
	_, err := cfg.withDefaults()
	return err
}

// withDefaults validates cfg and fills in its zero fields, except
// ErrorHandler.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
	}
	if !validCookieName(cfg.CookieName) {
		return cfg, fmt.Errorf("httpadapter: Config.CookieName %q is not a valid cookie name", cfg.CookieName)
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if cfg.SameSite == 0 {
		cfg.SameSite = http.SameSiteLaxMode
	}
	if err := cfg.validCookie(); err != nil {
		return cfg, err
	}
	if cfg.Locking != Implicit && cfg.Locking != Explicit {
		return cfg, fmt.Errorf("httpadapter: Config.Locking: unknown %v", cfg.Locking)
	}
	return cfg, nil
}

// validCookie checks the cookie's attributes; cfg has its defaults.
func (cfg *Config) validCookie() error {
	if !strings.HasPrefix(cfg.Path, "/") {
		return fmt.Errorf("httpadapter: Config.Path %q does not start with '/'", cfg.Path)
	}
	c := http.Cookie{Name: cfg.CookieName, Value: "x", Path: cfg.Path, Domain: cfg.Domain}
	if err := c.Valid(); err != nil {
		return fmt.Errorf("httpadapter: Config.Path %q or Domain %q: %w", cfg.Path, cfg.Domain, err)
	}
	switch cfg.SameSite {
	case http.SameSiteDefaultMode, http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if !cfg.Secure {
			return errors.New("httpadapter: Config.SameSite is None without Config.Secure: browsers drop such cookies")
		}
	default:
		return fmt.Errorf("httpadapter: Config.SameSite: unknown value %d", int(cfg.SameSite))
	}
	switch {
	case hasPrefixFold(cfg.CookieName, "__Host-"):
		if !cfg.Secure || cfg.Domain != "" || cfg.Path != "/" {
			return fmt.Errorf("httpadapter: Config.CookieName %q: a __Host- cookie needs Secure, Path \"/\" and no Domain (have Secure %v, Path %q, Domain %q)",
				cfg.CookieName, cfg.Secure, cfg.Path, cfg.Domain)
		}
	case hasPrefixFold(cfg.CookieName, "__Secure-"):
		if !cfg.Secure {
			return fmt.Errorf("httpadapter: Config.CookieName %q: a __Secure- cookie needs Config.Secure", cfg.CookieName)
		}
	}
	return nil
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		switch c {
		case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
			return false
		}
	}
	return true
}

// defaultErrorHandler answers 503 with Retry-After for errors that go away
// by themselves (a lock timeout, a closing engine) and 500 otherwise.
func defaultErrorHandler(log *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		code := http.StatusInternalServerError
		if errors.Is(err, engine.ErrLockTimeout) || errors.Is(err, engine.ErrClosed) {
			code = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "1")
		} else {
			log.Error("httpadapter: session error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		http.Error(w, http.StatusText(code), code)
	}
}
