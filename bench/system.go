package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
)

// A System is one way of keeping web sessions: lockstep or a peer it is
// compared with. Every workload talks to systems only through this interface
// and Instance, so that all of them run the same code.
type System interface {
	// Name is the system's name in tables and JSON.
	Name() string
	// Open starts an instance that keeps its sessions under dir, a fresh
	// empty directory that the caller removes after Close.
	Open(dir string) (Instance, error)
}

// An Instance is an open System. Its methods are safe for concurrent use.
type Instance interface {
	// Create makes a session holding counter = 1 and returns the value that
	// identifies it to Read, Write and Update (an ID, or a cookie value).
	Create(ctx context.Context) (string, error)
	// Read is one read-only request outside HTTP: it loads session id,
	// reads its counter and ends the request as the system's middleware would.
	Read(ctx context.Context, id string) error
	// Write is one request outside HTTP that increments the counter.
	Write(ctx context.Context, id string) error
	// Update is one request outside HTTP that runs fn on session id.
	Update(ctx context.Context, id string, fn func(Values) error) error
	// Handler serves app behind the system's session middleware. app gets
	// the request's session (empty if the request has none; a new session
	// is created when app stores something) and returns the response body.
	Handler(app App) http.Handler
	// Close stops the instance and releases its files.
	Close() error
}

// App is an HTTP handler written against Values, so that one application
// runs unchanged behind every system's middleware.
type App func(r *http.Request, s Values) string

// Values is what a request sees of its session.
// *engine.Session satisfies it.
type Values interface {
	Get(key string) (any, bool)
	Set(key string, value any)
	Len() int
}

// counterKey is the session key every workload counts in.
const counterKey = "counter"

// counter returns the session's counter, 0 if it has none.
func counter(s Values) int {
	v, _ := s.Get(counterKey)
	n, _ := v.(int)
	return n
}

// mapValues is Values over a plain map, as the mutex-map and
// cherrypy-style systems keep sessions.
type mapValues map[string]any

func (m mapValues) Get(key string) (any, bool) { v, ok := m[key]; return v, ok }
func (m mapValues) Set(key string, value any)  { m[key] = value }
func (m mapValues) Len() int                   { return len(m) }

// newToken returns 32 random bytes in base64url without padding, the same
// session ID format lockstep and scs use.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// itoa is strconv.Itoa, short for the apps.
func itoa(n int) string { return strconv.Itoa(n) }
