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
	return &mutexMapInst{sessions: make(map[string]map[string]any)}, nil
}

type mutexMapInst struct {
	mu       sync.Mutex
	sessions map[string]map[string]any
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
	s, ok := m.sessions[id]
	if !ok {
		return errNoSession
	}
	if _, ok := s[counterKey]; !ok {
		return errNoSession
	}
	return nil
}

func (m *mutexMapInst) Write(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return errNoSession
	}
	n, _ := s[counterKey].(int)
	s[counterKey] = n + 1
	return nil
}

func (m *mutexMapInst) Update(_ context.Context, id string, fn func(Values) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return errNoSession
	}
	return fn(mapValues(s))
}

func (m *mutexMapInst) Handler(app App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		var s map[string]any
		if c, err := r.Cookie(cookieName); err == nil {
			s = m.sessions[c.Value]
		}
		isNew := s == nil
		if isNew {
			s = make(map[string]any)
		}
		body := app(r, mapValues(s))
		if isNew && len(s) > 0 {
			id := newToken()
			m.sessions[id] = s
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true})
		}
		m.mu.Unlock()
		_, _ = w.Write([]byte(body))
	})
}

func (m *mutexMapInst) Close() error { return nil }
