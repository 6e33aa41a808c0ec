package httpadapter_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
)

// readGET marks GET requests read-only.
func readGET(r *http.Request) bool { return r.Method == http.MethodGet }

// Read-only requests of one session run together in Implicit mode: each
// holds its shared turn until its handler returns, and the barrier opens
// only when every handler is inside at once.
func TestReadOnlyRequestsShare(t *testing.T) {
	eng := newEngine(t, engine.Config{LockTimeout: time.Hour})
	_, cookie := create(t, eng, 5)
	const requests = 4
	var inside atomic.Int32
	all := make(chan struct{})
	h := httpadapter.Middleware(eng, httpadapter.Config{ReadOnly: readGET})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var n int
			err := httpadapter.View(r, func(_ context.Context, s *engine.Session) error {
				n = counter(s)
				return nil
			})
			if err != nil {
				httpadapter.Error(w, r, err)
				return
			}
			if inside.Add(1) == requests {
				close(all)
			}
			<-all // the shared turn is still held here
			fmt.Fprint(w, n)
		}))
	var wg sync.WaitGroup
	for range requests {
		wg.Go(func() {
			res := serve(t, h, "/", cookie)
			assert.Equal(t, http.StatusOK, res.code)
			assert.Equal(t, "5", res.body, "got the body, want the counter")
		})
	}
	wg.Wait()
}

// A request that ReadOnly marks cannot write: Do, Regenerate and Destroy
// return ErrReadOnly, a change in a View is refused, and with no session a
// View creates nothing.
func TestReadOnlyRequestRefusesWrites(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	id, cookie := create(t, eng, 5)
	errs := make(chan []error, 1)
	h := httpadapter.Middleware(eng, httpadapter.Config{ReadOnly: readGET})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e := []error{
				httpadapter.View(r, func(_ context.Context, s *engine.Session) error {
					s.Set(counterKey, 99)
					return nil
				}),
				httpadapter.Do(r, func(_ context.Context, s *engine.Session) error { return nil }),
				httpadapter.Regenerate(r),
				httpadapter.Destroy(r),
			}
			errs <- e
		}))
	for _, c := range []string{cookie, ""} {
		res := serve(t, h, "/", c)
		for i, err := range <-errs {
			assert.ErrorIs(t, err, engine.ErrReadOnly, "call %d with cookie %q", i, c)
		}
		if res.cookie != nil { // the sliding refresh of a session that was read
			assert.Equal(t, id, res.cookie.Value, "got a new session's cookie from a read-only request")
			assert.Positive(t, res.cookie.MaxAge)
		}
	}
	assert.Equal(t, 5, counterOf(t, eng, cookie))
}

// counterOf returns the counter of the session named by cookie.
func counterOf(t testing.TB, eng *engine.Engine, cookie string) int {
	t.Helper()
	var n int
	require.NoError(t, eng.View(context.Background(), cookie[len(httpadapter.DefaultCookieName)+1:], func(_ context.Context, s *engine.Session) error {
		n = counter(s)
		return nil
	}))
	return n
}

// DestroyOwner with the request's context, in an Implicit handler that
// holds its turn, returns at once, destroys the request's own session with
// the owner's others, and expires the cookie; a later Do of the request
// starts a new session.
func TestDestroyOwnerFromHandler(t *testing.T) {
	for _, later := range []bool{false, true} {
		t.Run(fmt.Sprintf("later Do %v", later), func(t *testing.T) {
			eng := newEngine(t, engine.Config{LockTimeout: time.Hour})
			own, cookie := create(t, eng, 1)
			other, _ := create(t, eng, 2)
			for _, id := range []string{own, other} {
				require.NoError(t, eng.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
					s.SetOwner("alice")
					return nil
				}))
			}
			destroyed := make(chan int, 1)
			h := httpadapter.Middleware(eng, httpadapter.Config{})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					require.NoError(t, httpadapter.Do(r, func(_ context.Context, s *engine.Session) error {
						counter(s)
						return nil
					}))
					n, err := eng.DestroyOwner(r.Context(), "alice")
					require.NoError(t, err)
					destroyed <- n
					if later {
						require.NoError(t, httpadapter.Do(r, func(_ context.Context, s *engine.Session) error {
							assert.Zero(t, s.Len(), "got a session with values after DestroyOwner, want a fresh one")
							s.Set(counterKey, 7)
							return nil
						}))
					}
				}))
			got := make(chan result, 1)
			go func() { got <- serve(t, h, "/", cookie) }()
			var res result
			select {
			case res = <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("the handler did not return: DestroyOwner waited for the request's own turn")
			}
			assert.Equal(t, 2, <-destroyed, "got sessions destroyed, want both of alice's")
			require.NotNil(t, res.cookie, "got no cookie, want it expired or replaced")
			if later {
				assert.NotEqual(t, own, res.cookie.Value, "got the destroyed ID back in the cookie")
				assert.Positive(t, res.cookie.MaxAge)
				assert.Equal(t, 7, counterOf(t, eng, httpadapter.DefaultCookieName+"="+res.cookie.Value))
			} else {
				assert.Negative(t, res.cookie.MaxAge, "got a live cookie, want it expired")
			}
			for _, id := range []string{own, other} {
				err := eng.View(context.Background(), id, func(context.Context, *engine.Session) error { return nil })
				assert.ErrorIs(t, err, engine.ErrNotFound)
			}
		})
	}
}

// Goroutines that share the request's context run engine calls inline in
// the turn the request holds, one at a time: never two fn on the session
// at once; their changes are committed with the request.
func TestRequestContextSharedByGoroutines(t *testing.T) {
	eng := newEngine(t, engine.Config{LockTimeout: time.Hour})
	id, cookie := create(t, eng, 0)
	const workers = 8
	h := httpadapter.Middleware(eng, httpadapter.Config{})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, httpadapter.Do(r, func(context.Context, *engine.Session) error { return nil }))
			var inside atomic.Int32
			var g sync.WaitGroup
			errs := make(chan error, workers)
			for range workers {
				g.Go(func() {
					errs <- eng.Do(r.Context(), id, func(ctx context.Context, s *engine.Session) error {
						if inside.Add(1) != 1 {
							t.Error("two goroutines ran fn on the session at once")
						}
						defer inside.Add(-1)
						runtime.Gosched()
						// Nested with fn's ctx: inline at once.
						return eng.View(ctx, id, func(_ context.Context, vs *engine.Session) error {
							n := counter(s)
							runtime.Gosched()
							s.Set(counterKey, n+1)
							return nil
						})
					})
				})
			}
			g.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
		}))
	res := serve(t, h, "/", cookie)
	require.Equal(t, http.StatusOK, res.code, res.body)
	assert.Equal(t, workers, counterOf(t, eng, cookie))
}

// Engine calls with the request's context are re-entrant with the turn
// the request holds, in both modes: in Explicit mode inside Do, in
// Implicit mode after the first Do too.
func TestRequestContextReentrant(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			eng := newEngine(t, engine.Config{LockTimeout: time.Hour})
			id, cookie := create(t, eng, 1)
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					require.NoError(t, httpadapter.Do(r, func(_ context.Context, s *engine.Session) error {
						s.Set(counterKey, 2)
						// r.Context(), not fn's ctx: inline all the same.
						return eng.Do(r.Context(), id, func(_ context.Context, s *engine.Session) error {
							s.Set(counterKey, counter(s)+1)
							return eng.View(r.Context(), id, func(context.Context, *engine.Session) error { return nil })
						})
					}))
					if mode == httpadapter.Implicit {
						require.NoError(t, eng.Do(r.Context(), id, func(_ context.Context, s *engine.Session) error {
							s.Set(counterKey, counter(s)+1)
							return nil
						}))
						_, err := eng.Regenerate(r.Context(), id)
						require.NoError(t, err)
					}
				}))
			got := make(chan result, 1)
			go func() { got <- serve(t, h, "/", cookie) }()
			select {
			case res := <-got:
				require.Equal(t, http.StatusOK, res.code, res.body)
				want := 3
				if mode == httpadapter.Implicit {
					want = 4
					require.NotNil(t, res.cookie, "got no cookie after Regenerate")
					cookie = httpadapter.DefaultCookieName + "=" + res.cookie.Value
				}
				assert.Equal(t, want, counterOf(t, eng, cookie))
			case <-time.After(10 * time.Second):
				t.Fatal("the handler waited for its own turn")
			}
		})
	}
}

// In Explicit mode, Views of one session's requests run together; in
// Implicit mode a request not marked read-only takes the exclusive turn at
// its first View and may write after it.
func TestViewModes(t *testing.T) {
	t.Run("explicit views share", func(t *testing.T) {
		eng := newEngine(t, engine.Config{LockTimeout: time.Hour})
		_, cookie := create(t, eng, 1)
		const requests = 3
		var inside atomic.Int32
		all := make(chan struct{})
		h := httpadapter.Middleware(eng, httpadapter.Config{Locking: httpadapter.Explicit})(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err := httpadapter.View(r, func(context.Context, *engine.Session) error {
					if inside.Add(1) == requests {
						close(all)
					}
					<-all
					return nil
				})
				reply(w, r, err, "ok")
			}))
		var wg sync.WaitGroup
		for range requests {
			wg.Go(func() { assert.Equal(t, "ok", serve(t, h, "/", cookie).body) })
		}
		wg.Wait()
	})
	t.Run("implicit view then do", func(t *testing.T) {
		eng := newEngine(t, engine.Config{})
		_, cookie := create(t, eng, 1)
		h := httpadapter.Middleware(eng, httpadapter.Config{ReadOnly: readGET})(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.NoError(t, httpadapter.View(r, func(context.Context, *engine.Session) error { return nil }))
				err := httpadapter.Do(r, func(_ context.Context, s *engine.Session) error {
					s.Set(counterKey, counter(s)+1)
					return nil
				})
				reply(w, r, err, "ok")
			}))
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, "ok", rec.Body.String())
		assert.Equal(t, 2, counterOf(t, eng, cookie))
	})
	t.Run("view creates no session", func(t *testing.T) {
		eng := newEngine(t, engine.Config{})
		for _, mode := range modes() {
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					err := httpadapter.View(r, func(_ context.Context, s *engine.Session) error {
						s.Set(counterKey, 1)
						return nil
					})
					assert.ErrorIs(t, err, engine.ErrReadOnly)
				}))
			res := serve(t, h, "/", "")
			assert.Nil(t, res.cookie, "%v: got a cookie from a View, want none", mode)
			assert.Zero(t, eng.Stats().Active)
		}
	})
}

// DestroyOwner with the request's context while the request holds no turn
// (Explicit mode outside Do, or before the first Do) destroys the request's
// own session in a turn of its own; the request then goes on as after
// Destroy all the same: the cookie is expired, and a later Do starts a new
// session.
func TestDestroyOwnerOutsideTurn(t *testing.T) {
	cases := []struct {
		mode    httpadapter.Locking
		doFirst bool
	}{
		{httpadapter.Explicit, true},
		{httpadapter.Explicit, false},
		{httpadapter.Implicit, false},
	}
	for _, c := range cases {
		for _, later := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v do first %v later Do %v", c.mode, c.doFirst, later), func(t *testing.T) {
				eng := newEngine(t, engine.Config{LockTimeout: time.Hour})
				own, cookie := create(t, eng, 1)
				require.NoError(t, eng.Do(context.Background(), own, func(_ context.Context, s *engine.Session) error {
					s.SetOwner("alice")
					return nil
				}))
				h := httpadapter.Middleware(eng, httpadapter.Config{Locking: c.mode})(
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if c.doFirst {
							require.NoError(t, httpadapter.Do(r, func(_ context.Context, s *engine.Session) error {
								counter(s)
								return nil
							}))
						}
						n, err := eng.DestroyOwner(r.Context(), "alice")
						require.NoError(t, err)
						assert.Equal(t, 1, n, "got sessions destroyed, want the request's own")
						if later {
							require.NoError(t, httpadapter.Do(r, func(_ context.Context, s *engine.Session) error {
								assert.Zero(t, s.Len(), "got a session with values after DestroyOwner, want a fresh one")
								s.Set(counterKey, 7)
								return nil
							}))
						}
						w.Write([]byte("ok"))
					}))
				res := serve(t, h, "/", cookie)
				require.Equal(t, "ok", res.body)
				require.NotNil(t, res.cookie, "got no cookie, want it expired or replaced")
				if later {
					assert.NotEqual(t, own, res.cookie.Value, "got the destroyed ID back in the cookie")
					assert.Positive(t, res.cookie.MaxAge)
					assert.Equal(t, 7, counterOf(t, eng, httpadapter.DefaultCookieName+"="+res.cookie.Value))
				} else {
					assert.Negative(t, res.cookie.MaxAge, "got a live cookie, want it expired")
				}
			})
		}
	}
}
