package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// Config configures the dashboard.
type Config struct {
	// Authorize decides whether a request may see the dashboard and use
	// its forms, usually by the application's logged-in user. It is
	// required: nil refuses every request (403).
	Authorize func(*http.Request) bool

	// ShowValues shows a session's values on its page. Default false: only
	// its metadata and the names and types of its values.
	ShowValues bool

	// Recorder, if it observes the engine (its Observer is in the engine's
	// Config.Observer), feeds the charts. Nil: the overview shows the
	// counters only.
	Recorder *Recorder

	// MaxSessions caps the sessions the sessions page lists. Default 1000.
	MaxSessions int
}

// Handler returns the dashboard of eng. Mount it on a path that ends in
// "/" with http.StripPrefix (see the package doc).
func Handler(eng *engine.Engine, cfg Config) http.Handler {
	d := &dashboard{eng: eng, cfg: cfg}
	if d.cfg.MaxSessions <= 0 {
		d.cfg.MaxSessions = 1000
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.overview)
	mux.HandleFunc("GET /sessions", d.sessions)
	mux.HandleFunc("GET /session", d.session)
	mux.HandleFunc("POST /revoke", d.revoke)
	mux.HandleFunc("POST /remove", d.remove)
	return d.guard(http.NewCrossOriginProtection().Handler(mux))
}

type dashboard struct {
	eng *engine.Engine
	cfg Config
}

// guard refuses what Authorize does not accept and sets the headers of
// every response.
func (d *dashboard) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		if d.cfg.Authorize == nil || !d.cfg.Authorize(r) {
			http.Error(w, "dashboard: forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	Title   string
	Store   string
	Message string
	Error   string
	Refresh int // seconds; 0 for none
	Data    any
}

func (d *dashboard) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	d.renderStatus(w, r, http.StatusOK, name, p)
}

// renderStatus renders the page with the status code.
func (d *dashboard) renderStatus(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	p.Store = d.eng.StoreName()
	if p.Message == "" {
		p.Message = r.URL.Query().Get("done")
	}
	var b strings.Builder
	if err := templates.ExecuteTemplate(&b, name, p); err != nil {
		http.Error(w, "dashboard: render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprint(w, b.String())
}

// overviewData is the overview page's.
type overviewData struct {
	Counters []counter
	Charts   []chart
	Window   string
}

type counter struct {
	Name, Value, Help string
}

func (d *dashboard) overview(w http.ResponseWriter, r *http.Request) {
	st := d.eng.Stats()
	meanWait := "–"
	if st.TurnsWaited > 0 {
		meanWait = fmtDuration(st.WaitTime / time.Duration(st.TurnsWaited))
	}
	data := overviewData{Counters: []counter{
		{"resident sessions", fmt.Sprint(st.Active), "sessions in memory now"},
		{"turns", fmt.Sprint(st.Turns), "outermost turns that ended"},
		{"turns that queued", fmt.Sprint(st.TurnsWaited), "behind another turn of the session in this process"},
		{"mean queue wait", meanWait, "of the turns that queued"},
		{"lock timeouts", fmt.Sprint(st.LockTimeouts), "calls that gave up after LockTimeout"},
		{"activations", fmt.Sprint(st.Activations), "sessions loaded from the store"},
		{"passivations", fmt.Sprint(st.Passivations), "sessions saved and let go"},
		{"hand-overs given", fmt.Sprint(st.HandOversGiven), "to another holder that asked"},
		{"hand-overs taken", fmt.Sprint(st.HandOversTaken), "from another holder"},
		{"commits", fmt.Sprint(st.Commits), "turns whose changes were written"},
		{"failed commits", fmt.Sprint(st.CommitsFailed), "rolled back"},
		{"locks lost", fmt.Sprint(st.LocksLost), "sessions dropped: their store lock was lost"},
		{"expired", fmt.Sprint(st.Expired + uint64(st.Swept.Expired)), "by this engine and its sweeps"},
		{"events dropped", fmt.Sprint(st.EventsDropped), "OnEvent fell behind"},
	}}
	if rec := d.cfg.Recorder; rec != nil {
		s := rec.series()
		data.Window = fmt.Sprintf("%.0f min", (time.Duration(len(s.turns)) * s.interval).Minutes())
		data.Charts = []chart{
			newChart("turns/s", s.turns, fmtRate),
			newChart("turns that waited/s", s.waited, fmtRate),
			newChart("p50 wait", s.p50, fmtSeconds),
			newChart("p99 wait", s.p99, fmtSeconds),
			newChart("hand-overs/s", s.handOvers, fmtRate),
			newChart("commits/s", s.commits, fmtRate),
			newChart("failures/s", s.failures, fmtRate),
		}
	}
	d.render(w, r, "overview", page{Title: "overview", Refresh: 5, Data: data})
}

// sessionsData is the sessions page's.
type sessionsData struct {
	Owner     string // the filter; "" for all
	Owners    []ownerGroup
	Listed    int
	Truncated bool
}

type ownerGroup struct {
	Owner    string
	Sessions []sessionRow
}

type sessionRow struct {
	Key, Short, Created, Expires, Bytes string
	Held                                bool
}

var errEnough = errors.New("dashboard: enough sessions")

func (d *dashboard) sessions(w http.ResponseWriter, r *http.Request) {
	ins, ok := d.eng.Store().(persist.Inspector)
	if !ok {
		d.render(w, r, "sessions", page{Title: "sessions", Error: fmt.Sprintf(
			"The store (%s) cannot list its sessions: it does not implement persist.Inspector. Counters and revocation by owner are not available here.",
			d.eng.StoreName())})
		return
	}
	owner := r.URL.Query().Get("owner")
	var infos []persist.Info
	truncated := false
	err := ins.Sessions(r.Context(), owner, func(info persist.Info) error {
		if len(infos) == d.cfg.MaxSessions {
			truncated = true
			return errEnough
		}
		infos = append(infos, info)
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		d.renderStatus(w, r, http.StatusInternalServerError, "sessions", page{Title: "sessions", Error: "listing the sessions failed: " + err.Error()})
		return
	}
	slices.SortFunc(infos, func(a, b persist.Info) int {
		return cmp.Or(cmp.Compare(a.Owner, b.Owner), b.Created.Compare(a.Created), cmp.Compare(a.Key, b.Key))
	})
	data := sessionsData{Owner: owner, Listed: len(infos), Truncated: truncated}
	for _, info := range infos {
		if n := len(data.Owners); n == 0 || data.Owners[n-1].Owner != info.Owner {
			data.Owners = append(data.Owners, ownerGroup{Owner: info.Owner})
		}
		g := &data.Owners[len(data.Owners)-1]
		g.Sessions = append(g.Sessions, sessionRow{
			Key: info.Key, Short: short(info.Key), Created: fmtTime(info.Created), Expires: fmtTime(info.Expires),
			Bytes: fmtBytes(info.Bytes), Held: info.Locked,
		})
	}
	d.render(w, r, "sessions", page{Title: "sessions", Data: data})
}

// sessionData is the session page's.
type sessionData struct {
	Key, Owner, Created, Expires, Bytes string
	Held                                bool
	ShowValues                          bool
	Values                              []valueRow
}

type valueRow struct {
	Name, Type, Value string
}

func (d *dashboard) session(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	info, values, err := d.eng.Inspect(r.Context(), key)
	switch {
	case errors.Is(err, engine.ErrNoInspector):
		d.render(w, r, "session", page{Title: "session", Error: fmt.Sprintf(
			"The store (%s) cannot read sessions by key: it does not implement persist.Inspector.", d.eng.StoreName())})
		return
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, persist.ErrBadKey):
		d.renderStatus(w, r, http.StatusNotFound, "session", page{Title: "session", Error: "No stored session has this key."})
		return
	case err != nil:
		d.renderStatus(w, r, http.StatusInternalServerError, "session", page{Title: "session", Error: err.Error()})
		return
	}
	data := sessionData{
		Key: info.Key, Owner: info.Owner, Created: fmtTime(info.Created), Expires: fmtTime(info.Expires),
		Bytes: fmtBytes(info.Bytes), Held: info.Locked, ShowValues: d.cfg.ShowValues,
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		row := valueRow{Name: k, Type: fmt.Sprintf("%T", values[k])}
		if d.cfg.ShowValues {
			row.Value = clip(fmt.Sprintf("%v", values[k]), 300)
		}
		data.Values = append(data.Values, row)
	}
	d.render(w, r, "session", page{Title: "session " + short(info.Key), Data: data})
}

// revoke destroys every session of the form's owner.
func (d *dashboard) revoke(w http.ResponseWriter, r *http.Request) {
	owner := r.PostFormValue("owner")
	if owner == "" {
		http.Error(w, "dashboard: revoke: no owner", http.StatusBadRequest)
		return
	}
	n, err := d.eng.DestroyOwner(d.actionContext(r), owner)
	msg := fmt.Sprintf("Revoked %q: %s destroyed.", owner, plural(n, "session"))
	if err != nil {
		msg += " Errors: " + err.Error()
	}
	seeOther(w, "sessions", msg)
}

// remove destroys the session of the form's key.
func (d *dashboard) remove(w http.ResponseWriter, r *http.Request) {
	key := r.PostFormValue("key")
	ok, err := d.eng.DestroyKey(d.actionContext(r), key)
	var msg string
	switch {
	case err != nil:
		msg = fmt.Sprintf("Removing session %s failed: %v", short(key), err)
	case ok:
		msg = fmt.Sprintf("Session %s removed.", short(key))
	default:
		msg = fmt.Sprintf("Session %s was gone already.", short(key))
	}
	seeOther(w, "sessions", msg)
}

// actionContext is the context of a form's action: the request's, so that
// a revocation of the operator's own sessions runs inline with the turn an
// adapter holds for this request, without its deadline (a browser that
// gives up must not leave a revocation half done).
func (d *dashboard) actionContext(r *http.Request) context.Context {
	return context.WithoutCancel(r.Context())
}

// seeOther redirects to the relative path with a message, relative to the
// request's own URL, so that the mount point is kept.
func seeOther(w http.ResponseWriter, path, msg string) {
	w.Header().Set("Location", path+"?done="+url.QueryEscape(msg))
	w.WriteHeader(http.StatusSeeOther)
}

// plural returns "1 session", "2 sessions".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func short(key string) string {
	if len(key) > 12 {
		return key[:12] + "…"
	}
	return key
}

// clip cuts s to at most n bytes, at a rune's start, marking the cut.
func clip(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return s[:n] + "…"
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.String()
}

func fmtRate(v float64) string {
	if v >= 10 || v == 0 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

func fmtSeconds(v float64) string {
	return fmtDuration(time.Duration(v * float64(time.Second)))
}
