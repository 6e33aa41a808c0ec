package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// readOnlyRequest is the routes that only read the session: the GETs that
// rwmutex-map serves under a read lock and lockstep-readonly marks with
// httpadapter's Config.ReadOnly.
func readOnlyRequest(r *http.Request) bool {
	switch r.URL.Path {
	case "/read", "/page", "/ajax":
		return r.Method == http.MethodGet
	}
	return false
}

// viewSystems are the systems that let reads of one session run together.
func viewSystems() []System {
	return []System{
		rwMutexMap{},
		lockstepReadOnly{lockstepSystem{name: "lockstep-readonly"}},
	}
}

// rwMutexMap is mutex-map with a sync.RWMutex: reads (Read, and the
// read-only routes) share the lock, writes exclude them.
type rwMutexMap struct{}

func (rwMutexMap) Name() string { return "rwmutex-map" }

func (rwMutexMap) Open(string) (Instance, error) {
	return &rwMutexMapInst{sessions: make(sessionMap)}, nil
}

type rwMutexMapInst struct {
	mu       sync.RWMutex
	sessions sessionMap
}

func (m *rwMutexMapInst) Create(context.Context) (string, error) {
	id := newToken()
	m.mu.Lock()
	m.sessions[id] = map[string]any{counterKey: 1}
	m.mu.Unlock()
	return id, nil
}

func (m *rwMutexMapInst) Read(_ context.Context, id string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.sessions.read(id)
}

// View is Read: the read lock is what rwmutex-map shares.
func (m *rwMutexMapInst) View(ctx context.Context, id string) error { return m.Read(ctx, id) }

func (m *rwMutexMapInst) Write(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions.write(id)
}

func (m *rwMutexMapInst) Update(_ context.Context, id string, fn func(Values) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions.update(id, fn)
}

// Handler holds the read lock for a read-only request and the lock for
// any other, for the whole request, as mutex-map does.
func (m *rwMutexMapInst) Handler(app App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if readOnlyRequest(r) {
			m.mu.RLock()
			var s map[string]any
			if c, err := r.Cookie(cookieName); err == nil {
				s = m.sessions[c.Value]
			}
			if s == nil {
				s = map[string]any{} // a read creates nothing
			}
			body := app(r, mapValues(s))
			m.mu.RUnlock()
			_, _ = w.Write([]byte(body))
			return
		}
		m.mu.Lock()
		body := m.sessions.serve(w, r, app)
		m.mu.Unlock()
		_, _ = w.Write([]byte(body))
	})
}

func (m *rwMutexMapInst) Close() error { return nil }

// lockstepReadOnly is lockstep whose middleware marks the read-only
// routes with Config.ReadOnly, and whose handlers read with View.
type lockstepReadOnly struct{ lockstepSystem }

func (l lockstepReadOnly) Open(dir string) (Instance, error) {
	inst, err := l.lockstepSystem.Open(dir)
	if err != nil {
		return nil, err
	}
	return lockstepReadOnlyInst{inst.(*lockstepInst)}, nil
}

type lockstepReadOnlyInst struct{ *lockstepInst }

// Handler serves app with View on the read-only routes, Do on the others.
func (i lockstepReadOnlyInst) Handler(app App) http.Handler {
	cfg := httpadapter.Config{ReadOnly: readOnlyRequest}
	return httpadapter.Middleware(i.eng, cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run := httpadapter.Do
		if readOnlyRequest(r) {
			run = httpadapter.View
		}
		var body string
		if err := run(r, func(_ context.Context, s *engine.Session) error {
			body = app(r, s)
			return nil
		}); err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
}

// View reads the counter in a shared turn.
func (i *lockstepInst) View(ctx context.Context, id string) error {
	return i.eng.View(ctx, id, readCounter)
}

// viewer is an Instance whose reads of one session can run together.
type viewer interface {
	View(ctx context.Context, id string) error
}

// runView measures View (lockstep's shared turn; rwmutex-map's read lock;
// Read for a system without one) on one resident session, serially and
// from parallel goroutines (b.RunParallel with 4 goroutines per core), as
// runDo measures Read.
func runView(ctx context.Context, e *env, name string) error {
	inst, _, id, done, err := e.session(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	op := inst.Read
	if v, ok := inst.(viewer); ok {
		op = v.View
	}
	if err := op(ctx, id); err != nil { // make it resident
		return err
	}
	serial, parallel, err := e.serialAndParallel(ctx, op, id)
	if err != nil {
		return err
	}
	e.rs.Add("view-read", name, "serial", nsPerOp(serial), "ns/op")
	e.rs.Add("view-read", name, "parallel", nsPerOp(parallel), "ns/op")
	e.rs.Add("view-read", name, "parallel-allocs", float64(parallel.AllocsPerOp()), "allocs/op")
	return nil
}

// viewReadSystems are compared in view-read.
var viewReadSystems = []string{"lockstep", "lockstep-memory", "rwmutex-map", "mutex-map"}

// ajaxSystems are compared in ajax-burst: every system that serves HTTP.
var ajaxSystems = []string{
	"lockstep-readonly", "lockstep", "lockstep-memory", "rwmutex-map", "mutex-map",
	"scs-memstore", "gorilla-filesystem", "cherrypy-style-1ms", "cherrypy-style-100ms",
}

// ajaxRequests is the number of read-only requests that follow a page.
const ajaxRequests = 10

// burstApp serves the ajax-burst routes: /write creates the session, /page
// and /ajax read it after work (a backend call: a sleep, which many
// requests can overlap even on two cores).
func burstApp(work time.Duration) App {
	return func(r *http.Request, s Values) string {
		switch r.URL.Path {
		case "/write":
			n := counter(s) + 1
			s.Set(counterKey, n)
			return itoa(n)
		case "/page", "/ajax":
			time.Sleep(work)
			return itoa(counter(s))
		}
		return ""
	}
}

// runAjaxBurst measures a page load of one session: the page request and
// ajaxRequests read-only requests at once, each handler working Work
// (10 ms), through the system's middleware. It reports one request's time,
// the burst's (until the last answer), both medians of ContendedRounds
// rounds, and their ratio: 1 when the requests overlap, 11 when the
// middleware runs them one at a time.
func runAjaxBurst(ctx context.Context, e *env, name string) error {
	inst, _, closeInst, err := e.open(name)
	if err != nil {
		return err
	}
	defer closeInst()
	srv := httptest.NewServer(inst.Handler(burstApp(e.p.Work)))
	defer srv.Close()
	c := newClient(srv.URL, ajaxRequests+1)
	defer c.close()
	_, cookie, err := c.get(ctx, "/write", "")
	if err != nil {
		return err
	}
	if cookie == "" {
		return fmt.Errorf("no session cookie set")
	}
	rounds := max(e.p.ContendedRounds, 3)
	var one, burst []time.Duration
	for range rounds {
		start := time.Now()
		if _, _, err := c.get(ctx, "/ajax", cookie); err != nil {
			return err
		}
		one = append(one, time.Since(start))

		errs := make(chan error, ajaxRequests+1)
		var wg sync.WaitGroup
		start = time.Now()
		for i := range ajaxRequests + 1 {
			path := "/ajax"
			if i == 0 {
				path = "/page"
			}
			wg.Go(func() {
				_, _, err := c.get(ctx, path, cookie)
				errs <- err
			})
		}
		wg.Wait()
		burst = append(burst, time.Since(start))
		close(errs)
		for err := range errs {
			if err != nil {
				return err
			}
		}
	}
	o, b := medianDuration(one), medianDuration(burst)
	e.rs.Add("ajax-burst", name, "one-request", float64(o)/float64(time.Millisecond), "ms")
	e.rs.Add("ajax-burst", name, "burst", float64(b)/float64(time.Millisecond), "ms")
	e.rs.Add("ajax-burst", name, "burst/one", float64(b)/float64(o), "x")
	return nil
}

// medianDuration returns the median of ds (the upper one of an even
// count).
func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
