package httpadapter_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// TestDoFromGoroutineAfterReturn calls Do from a goroutine that the
// handler started and that runs on after the handler returned, with no
// synchronisation between the two but the passing of (fake) time: Do
// must return ErrRequestDone, and the race detector must see no race.
func TestDoFromGoroutineAfterReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := newEngine(t, engine.Config{})
		errs := make(chan error, 3)
		h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			go func() {
				time.Sleep(time.Second) // fake time: the handler has returned by then
				errs <- httpadapter.Do(r, func(context.Context, *engine.Session) error { return nil })
				errs <- httpadapter.Regenerate(r)
				errs <- httpadapter.Destroy(r)
			}()
		}))
		serve(t, h, "/", "")
		for range 3 {
			if err := <-errs; !errors.Is(err, httpadapter.ErrRequestDone) {
				t.Errorf("got %v, want ErrRequestDone", err)
			}
		}
	})
}
