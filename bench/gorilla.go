package main

import (
	"context"
	"net/http"

	"github.com/gorilla/sessions"
)

// gorillaFilesystem is gorilla/sessions with its FilesystemStore: every
// request gets the session (reads and decodes its file) and saves it
// (encodes and rewrites the file), the library's documented usage.
type gorillaFilesystem struct{}

func (gorillaFilesystem) Name() string { return "gorilla-filesystem" }

func (gorillaFilesystem) Open(dir string) (Instance, error) {
	// A fixed hash key: the benchmark needs no secrecy, only the work.
	key := []byte("lockstep-bench-hash-key-32-bytes")
	return &gorillaInst{store: sessions.NewFilesystemStore(dir, key)}, nil
}

type gorillaInst struct {
	store *sessions.FilesystemStore
}

// Create returns the session's cookie value: it is what identifies a
// gorilla session to a request.
func (g *gorillaInst) Create(ctx context.Context) (string, error) {
	r := (&http.Request{Header: http.Header{}}).WithContext(ctx)
	s, err := g.store.Get(r, cookieName)
	if err != nil {
		return "", err
	}
	s.Values[counterKey] = 1
	w := newDiscardWriter()
	if err := s.Save(r, w); err != nil {
		return "", err
	}
	c, err := http.ParseSetCookie(w.h.Get("Set-Cookie"))
	if err != nil {
		return "", err
	}
	return c.Value, nil
}

// request runs fn between Get and Save, as a handler does.
func (g *gorillaInst) request(ctx context.Context, cookie string, fn func(gorillaValues) error) error {
	r := (&http.Request{Header: http.Header{"Cookie": {cookieName + "=" + cookie}}}).WithContext(ctx)
	s, err := g.store.Get(r, cookieName)
	if err != nil {
		return err
	}
	if err := fn(gorillaValues(s.Values)); err != nil {
		return err
	}
	return s.Save(r, newDiscardWriter())
}

func (g *gorillaInst) Read(ctx context.Context, cookie string) error {
	return g.request(ctx, cookie, func(v gorillaValues) error {
		if _, ok := v[counterKey]; !ok {
			return errNoSession
		}
		return nil
	})
}

func (g *gorillaInst) Write(ctx context.Context, cookie string) error {
	return g.request(ctx, cookie, func(v gorillaValues) error {
		n, _ := v[counterKey].(int)
		v[counterKey] = n + 1
		return nil
	})
}

func (g *gorillaInst) Update(ctx context.Context, cookie string, fn func(Values) error) error {
	return g.request(ctx, cookie, func(v gorillaValues) error { return fn(v) })
}

func (g *gorillaInst) Handler(app App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An unknown or undecodable cookie yields a new session and an
		// error, which gorilla users ignore.
		s, _ := g.store.Get(r, cookieName)
		body := app(r, gorillaValues(s.Values))
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(body))
	})
}

func (g *gorillaInst) Close() error { return nil }

// gorillaValues is Values over a gorilla session's map.
type gorillaValues map[any]any

func (v gorillaValues) Get(key string) (any, bool) { x, ok := v[key]; return x, ok }
func (v gorillaValues) Set(key string, value any)  { v[key] = value }
func (v gorillaValues) Len() int                   { return len(v) }

// discardWriter is the least http.ResponseWriter: Save only sets a cookie.
type discardWriter struct{ h http.Header }

func newDiscardWriter() *discardWriter               { return &discardWriter{h: http.Header{}} }
func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
