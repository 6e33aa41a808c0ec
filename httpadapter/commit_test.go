package httpadapter_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
	"github.com/lockstep-go/lockstep/persist"
)

// fullStore is a memory store that counts its writes, which fail with
// ENOSPC while full is set, as a full disk's would.
type fullStore struct {
	persist.Store
	full  atomic.Bool
	saves atomic.Int32 // successful saves
}

type fullLock struct {
	persist.Lock
	s *fullStore
}

func (s *fullStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	l, err := s.Store.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	return fullLock{l, s}, nil
}

func (l fullLock) Save(rec persist.Record, sync bool) error {
	if l.s.full.Load() {
		return fmt.Errorf("fullstore: write: %w", syscall.ENOSPC)
	}
	err := l.Lock.Save(rec, sync)
	if err == nil {
		l.s.saves.Add(1)
	}
	return err
}

// logs is an slog handler that keeps the records it gets.
type logs struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// find returns the first record at level whose message contains msg.
func (l *logs) find(level slog.Level, msg string) (slog.Record, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.Level == level && strings.Contains(r.Message, msg) {
			return r, true
		}
	}
	return slog.Record{}, false
}

// errorHandler answers 500 "replaced" and keeps the error it got.
type errorHandler struct{ err error }

func (e *errorHandler) handle(w http.ResponseWriter, r *http.Request, err error) {
	e.err = err
	http.Error(w, "replaced", http.StatusInternalServerError)
}

// starts are the ways a handler starts its response, each returning the
// error the writer reported (nil where the method reports none).
var starts = []struct {
	name  string
	start func(w http.ResponseWriter) error
}{
	{"WriteHeader", func(w http.ResponseWriter) error { w.WriteHeader(http.StatusOK); return nil }},
	{"Write", func(w http.ResponseWriter) error { _, err := w.Write([]byte("ok")); return err }},
	{"WriteString", func(w http.ResponseWriter) error { _, err := io.WriteString(w, "ok"); return err }},
	{"ReadFrom", func(w http.ResponseWriter) error { _, err := io.Copy(w, strings.NewReader("ok")); return err }},
	{"Flush", func(w http.ResponseWriter) error { return http.NewResponseController(w).Flush() }},
	{"return", func(w http.ResponseWriter) error { return nil }},
}

// TestImplicitCommitBeforeFirstByte: in Implicit mode a change to an
// existing session that cannot be saved (a full disk) becomes the
// ErrorHandler's response, whichever way the handler starts its own, and
// the handler's writes are dropped. (A new session is stored by the Do that
// creates it, which then fails itself: see TestLazySessionNotCreated; a
// value that cannot be encoded fails the Do that stored it: see
// TestImplicitUnencodable.)
func TestImplicitCommitBeforeFirstByte(t *testing.T) {
	for _, st := range starts {
		t.Run(st.name, func(t *testing.T) {
			store := &fullStore{Store: persist.NewMemory()}
			eng, err := engine.New(store, engine.Config{SweepInterval: -1})
			require.NoError(t, err)
			t.Cleanup(func() { eng.Close() })
			var eh errorHandler
			var writeErr error
			h := httpadapter.Middleware(eng, httpadapter.Config{ErrorHandler: eh.handle})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
					s.Set(counterKey, 9)
					return nil
				})
				require.NoError(t, err, "Do (Implicit commits later)")
				writeErr = st.start(w)
				if st.name != "return" {
					w.Write([]byte(" and more"))
				}
			}))
			id, cookie := create(t, eng, 1)
			store.full.Store(true)
			res := serve(t, h, "/", cookie)
			store.full.Store(false)
			assert.Equal(t, http.StatusInternalServerError, res.code, "want the ErrorHandler's status")
			assert.Equal(t, "replaced", res.body, "want the ErrorHandler's body alone")
			assert.ErrorIs(t, eh.err, syscall.ENOSPC, "the ErrorHandler's error")
			if st.name != "WriteHeader" && st.name != "return" {
				assert.ErrorIs(t, writeErr, httpadapter.ErrNotSaved, "the handler's write")
				assert.ErrorIs(t, writeErr, syscall.ENOSPC, "the handler's write does not carry the cause")
			}
			if assert.NotNil(t, res.cookie, "the live session's cookie was not refreshed") {
				assert.Equal(t, id, res.cookie.Value)
			}
			// The session keeps its value: nothing was written.
			body, _ := get(t, httpadapter.Middleware(eng, httpadapter.Config{})(app()), "/read", cookie)
			assert.Equal(t, "1", body)
		})
	}
}

// TestImplicitUnencodable: in Implicit mode, where the request's turn is
// committed only before the response, a value the codec cannot encode
// fails the Do that stored it, which rolls back its own changes only.
func TestImplicitUnencodable(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	var doErr error
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set(counterKey, 5)
			return nil
		}))
		doErr = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set("bad", unencodable{})
			s.Set(counterKey, 7)
			return nil
		})
		io.WriteString(w, "answered")
	}))
	_, cookie := create(t, eng, 1)
	res := serve(t, h, "/", cookie)
	var ee *engine.EncodeError
	require.ErrorAs(t, doErr, &ee, "the Do that stored the value")
	assert.Equal(t, "bad", ee.Key)
	assert.Equal(t, "answered", res.body)
	body, _ := get(t, httpadapter.Middleware(eng, httpadapter.Config{})(app()), "/read", cookie)
	assert.Equal(t, "5", body, "the first Do's change is saved, the failed Do's is not")
}

// TestLazyUnencodable: in Implicit mode the Do whose Set creates a session
// with a value that cannot be saved fails, and no cookie goes out.
func TestLazyUnencodable(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	var doErr error
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doErr = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set("bad", unencodable{})
			return nil
		})
		io.WriteString(w, "handled")
	}))
	res := serve(t, h, "/", "")
	var ee *engine.EncodeError
	assert.True(t, errors.As(doErr, &ee) && ee.Key == "bad", "Do: %v, want the EncodeError of key bad", doErr)
	assert.Equal(t, "handled", res.body)
	assert.Nil(t, res.cookie, "cookie for a session that was not stored")
}

// TestImplicitCommitBeforeHijack: the commit happens before the connection
// is handed over; if it fails, the ErrorHandler answers and Hijack fails.
func TestImplicitCommitBeforeHijack(t *testing.T) {
	store := &fullStore{Store: persist.NewMemory()}
	eng, err := engine.New(store, engine.Config{SweepInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	var eh errorHandler
	var hijackErr error
	h := httpadapter.Middleware(eng, httpadapter.Config{ErrorHandler: eh.handle})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set(counterKey, counter(s)+1)
			return nil
		})
		require.NoError(t, err)
		store.full.Store(r.URL.Path == "/bad") // the disk fills up before the commit
		conn, brw, err := http.NewResponseController(w).Hijack()
		hijackErr = err
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, cookie := create(t, eng, 1)
	for _, path := range []string{"/bad", "/good"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		res := toResult(t, resp)
		store.full.Store(false)
		if path == "/bad" {
			assert.Equal(t, http.StatusInternalServerError, res.code)
			assert.ErrorIs(t, hijackErr, httpadapter.ErrNotSaved)
		} else {
			assert.Equal(t, "hijacked", res.body)
			assert.NoError(t, hijackErr)
		}
	}
	body, _ := get(t, httpadapter.Middleware(eng, httpadapter.Config{})(app()), "/read", cookie)
	assert.Equal(t, "2", body, "the good request's change was committed, the bad one's was not")
}

// TestImplicitCommitVisibleBeforeResponse: what a handler changed is
// saved before the client sees the first byte, while the handler still
// holds the turn.
func TestImplicitCommitVisibleBeforeResponse(t *testing.T) {
	store := &fullStore{Store: persist.NewMemory()}
	eng, err := engine.New(store, engine.Config{SweepInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	flushed, finish := make(chan struct{}), make(chan struct{})
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set(counterKey, counter(s)+1)
			return nil
		})
		require.NoError(t, err)
		io.WriteString(w, "streaming\n")
		w.(http.Flusher).Flush()
		close(flushed)
		<-finish
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, cookie := create(t, eng, 1)
	before := store.saves.Load()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "streaming\n", line)
	<-flushed
	assert.Equal(t, before+1, store.saves.Load(), "the change was not saved when the response started")
	close(finish)
}

// TestLazySessionNotCreated: in Implicit mode, a new session that cannot
// be stored (a full disk) makes the Do that created it fail, and no cookie
// goes out; the handler can answer as it likes.
func TestLazySessionNotCreated(t *testing.T) {
	for _, mode := range modes() {
		t.Run(mode.String(), func(t *testing.T) {
			store := &fullStore{Store: persist.NewMemory()}
			eng, err := engine.New(store, engine.Config{SweepInterval: -1})
			require.NoError(t, err)
			t.Cleanup(func() { eng.Close() })
			store.full.Store(true)
			var doErr error
			h := httpadapter.Middleware(eng, httpadapter.Config{Locking: mode})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				doErr = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
					s.Set(counterKey, 1)
					return nil
				})
				if doErr != nil {
					http.Error(w, "try later", http.StatusInsufficientStorage)
					return
				}
				io.WriteString(w, "created")
			}))
			res := serve(t, h, "/", "")
			assert.ErrorIs(t, doErr, syscall.ENOSPC, "Do")
			assert.Equal(t, http.StatusInsufficientStorage, res.code)
			assert.Nil(t, res.cookie, "cookie for a session that was not created")
			store.full.Store(false)
			res = serve(t, h, "/", "")
			assert.Equal(t, "created", res.body)
			assert.NotNil(t, res.cookie)
		})
	}
}

// TestLateCommitFailure: changes made after the response started are
// committed when the handler returns; if that fails the client cannot be
// told, so it is logged at Warn with the redacted session and counted.
func TestLateCommitFailure(t *testing.T) {
	var l logs
	store := &fullStore{Store: persist.NewMemory()}
	eng, err := engine.New(store, engine.Config{SweepInterval: -1, Logger: slog.New(&l)})
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	a, err := httpadapter.New(eng, httpadapter.Config{})
	require.NoError(t, err)
	h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set(counterKey, counter(s)+1)
			return nil
		})
		require.NoError(t, err)
		io.WriteString(w, "ok")
		store.full.Store(r.URL.Path == "/bad") // the disk fills up after the response started
		err = httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			if r.URL.Path == "/bad" {
				s.Set("bad", true)
			} else {
				s.Set("late", true)
			}
			return nil
		})
		require.NoError(t, err)
	}))
	id, cookie := create(t, eng, 1)
	res := serve(t, h, "/good", cookie)
	assert.Equal(t, "ok", res.body)
	assert.Equal(t, uint64(0), a.Stats().LostCommits)
	res = serve(t, h, "/bad", cookie)
	store.full.Store(false)
	assert.Equal(t, "ok", res.body, "the response had started")
	assert.Equal(t, uint64(1), a.Stats().LostCommits)
	rec, ok := l.find(slog.LevelWarn, "not saved")
	require.True(t, ok, "no Warn record about the lost commit")
	var session string
	rec.Attrs(func(at slog.Attr) bool {
		if at.Key == "session" {
			session = at.Value.String()
		}
		return true
	})
	assert.NotEmpty(t, session)
	assert.NotContains(t, session, id, "the log carries the whole session ID")
	assert.True(t, strings.HasPrefix(id, strings.TrimSuffix(session, "…")), "session %q is not %s redacted", session, id)
	// Both requests' first changes were committed before their response;
	// the good one's late change too.
	err = eng.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		assert.Equal(t, 3, counter(s))
		v, _ := s.Get("late")
		assert.Equal(t, true, v)
		_, bad := s.Get("bad")
		assert.False(t, bad)
		return nil
	})
	require.NoError(t, err)
}

// TestWriteInsideDo: a handler that writes its response from inside fn
// does not commit there, so fn's error still rolls its changes back.
func TestWriteInsideDo(t *testing.T) {
	eng := newEngine(t, engine.Config{})
	errFn := errors.New("fn failed")
	h := httpadapter.Middleware(eng, httpadapter.Config{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
			s.Set(counterKey, 100)
			io.WriteString(w, "written inside")
			return errFn
		})
		assert.ErrorIs(t, err, errFn)
	}))
	_, cookie := create(t, eng, 3)
	res := serve(t, h, "/", cookie)
	assert.Equal(t, "written inside", res.body)
	body, _ := get(t, httpadapter.Middleware(eng, httpadapter.Config{})(app()), "/read", cookie)
	assert.Equal(t, "3", body, "fn's changes were committed although it failed")
}
