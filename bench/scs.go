package main

import (
	"context"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
)

// scsMemstore is alexedwards/scs with its in-memory store. Every request
// loads and gob-decodes the session and, because an idle timeout is set (as
// lockstep's sliding expiry), encodes and commits it again at the end.
type scsMemstore struct{}

func (scsMemstore) Name() string { return "scs-memstore" }

func (scsMemstore) Open(string) (Instance, error) {
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0) // no cleanup goroutine to leak
	sm.IdleTimeout = time.Hour                    // lockstep's default idle timeout
	sm.Cookie.Name = cookieName
	return &scsInst{sm: sm}, nil
}

type scsInst struct {
	sm *scs.SessionManager
}

func (i *scsInst) Create(ctx context.Context) (string, error) {
	ctx, err := i.sm.Load(ctx, "")
	if err != nil {
		return "", err
	}
	i.sm.Put(ctx, counterKey, 1)
	token, _, err := i.sm.Commit(ctx)
	return token, err
}

// request runs fn between Load and Commit as LoadAndSave does: it commits
// only a session whose status is Modified (always, with an idle timeout).
func (i *scsInst) request(ctx context.Context, token string, fn func(ctx context.Context) error) error {
	ctx, err := i.sm.Load(ctx, token)
	if err != nil {
		return err
	}
	if err := fn(ctx); err != nil {
		return err
	}
	if i.sm.Status(ctx) == scs.Modified {
		_, _, err = i.sm.Commit(ctx)
	}
	return err
}

func (i *scsInst) Read(ctx context.Context, token string) error {
	return i.request(ctx, token, func(ctx context.Context) error {
		if !i.sm.Exists(ctx, counterKey) {
			return errNoSession
		}
		return nil
	})
}

func (i *scsInst) Write(ctx context.Context, token string) error {
	return i.request(ctx, token, func(ctx context.Context) error {
		i.sm.Put(ctx, counterKey, i.sm.GetInt(ctx, counterKey)+1)
		return nil
	})
}

func (i *scsInst) Update(ctx context.Context, token string, fn func(Values) error) error {
	return i.request(ctx, token, func(ctx context.Context) error {
		return fn(scsValues{i.sm, ctx})
	})
}

func (i *scsInst) Handler(app App) http.Handler {
	return i.sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := app(r, scsValues{i.sm, r.Context()})
		_, _ = w.Write([]byte(body))
	}))
}

func (i *scsInst) Close() error { return nil }

// scsValues is Values over the session in an scs request context.
type scsValues struct {
	sm  *scs.SessionManager
	ctx context.Context
}

func (v scsValues) Get(key string) (any, bool) {
	if !v.sm.Exists(v.ctx, key) {
		return nil, false
	}
	return v.sm.Get(v.ctx, key), true
}

func (v scsValues) Set(key string, value any) { v.sm.Put(v.ctx, key, value) }
func (v scsValues) Len() int                  { return len(v.sm.Keys(v.ctx)) }
