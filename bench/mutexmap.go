package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
)

// errNoSession is returned by the peers' Read, Write and Update for an
// unknown session.
var errNoSession = errors.New("bench: no such session")

// mutexMap is the floor for in-memory work: one sync.Mutex around a map of
// maps, held for the whole request, so it never loses an update (and never
// lets two sessions' requests overlap either).
type mutexMap struct{}

func (mutexMap) Name() string { return "mutex-map" }

func (mutexMap) Open(string) (Instance, error) {
	return &mutexMapInst{sessions: make(sessionMap)}, nil
}

type mutexMapInst struct {
	mu       sync.Mutex
	sessions sessionMap
}

func (m *mutexMapInst) Create(context.Context) (string, error) {
	id := newToken()
	m.mu.Lock()
	m.sessions[id] = map[string]any{counterKey: 1}
	m.mu.Unlock()
	return id, nil
}

func (m *mutexMapInst) Read(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions.read(id)
}

func (m *mutexMapInst) Write(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions.write(id)
}

func (m *mutexMapInst) Update(_ context.Context, id string, fn func(Values) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions.update(id, fn)
}

func (m *mutexMapInst) Handler(app App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		body := m.sessions.serve(w, r, app)
		m.mu.Unlock()
		_, _ = w.Write([]byte(body))
	})
}

func (m *mutexMapInst) Close() error { return nil }

// sessionMap is the sessions of mutex-map and rwmutex-map, by ID. Its
// methods are the work that those do under their lock.
type sessionMap map[string]map[string]any

// read checks that session id exists.
func (m sessionMap) read(id string) error {
	if _, ok := m[id][counterKey]; !ok {
		return errNoSession
	}
	return nil
}

// write increments the counter of session id.
func (m sessionMap) write(id string) error {
	s, ok := m[id]
	if !ok {
		return errNoSession
	}
	n, _ := s[counterKey].(int)
	s[counterKey] = n + 1
	return nil
}

// update runs fn on session id.
func (m sessionMap) update(id string, fn func(Values) error) error {
	s, ok := m[id]
	if !ok {
		return errNoSession
	}
	return fn(mapValues(s))
}

// serve runs app for r on the session of r's cookie, or on a new one, which
// it keeps (and sets the cookie of) if app stored anything in it; it
// returns the body.
func (m sessionMap) serve(w http.ResponseWriter, r *http.Request, app App) string {
	var s map[string]any
	if c, err := r.Cookie(cookieName); err == nil {
		s = m[c.Value]
	}
	isNew := s == nil
	if isNew {
		s = make(map[string]any)
	}
	body := app(r, mapValues(s))
	if isNew && len(s) > 0 {
		id := newToken()
		m[id] = s
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true})
	}
	return body
}
