package main

import (
	"context"
	"net/http"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// Handler serves app behind httpadapter's middleware with its default
// configuration (implicit locking: the turn is held from the first Do to the
// end of the handler).
func (i *lockstepInst) Handler(app App) http.Handler {
	return httpadapter.Middleware(i.eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body string
		if err := httpadapter.Do(r, func(_ context.Context, s *engine.Session) error {
			body = app(r, s)
			return nil
		}); err != nil {
			httpadapter.Error(w, r, err)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
}
