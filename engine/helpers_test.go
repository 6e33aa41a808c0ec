package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// newEngine returns an engine over store (a new Memory store if nil),
// closed when the test ends.
// newEngine returns an engine on store (a new Memory if nil), closed when
// t ends; then, if the store can list its sessions, none may be held.
func newEngine(t testing.TB, store persist.Store, cfg engine.Config) *engine.Engine {
	t.Helper()
	if store == nil {
		store = persist.NewMemory()
	}
	if in, ok := store.(persist.Inspector); ok {
		// Once per test and store, so that the check runs after the
		// Close of every engine the test opens on the store.
		k := heldCheck{t, in}
		if _, seen := heldChecks.LoadOrStore(k, true); !seen {
			t.Cleanup(func() {
				heldChecks.Delete(k)
				checkNoneHeld(t, in)
			})
		}
	}
	e, err := engine.New(store, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// heldChecks holds the stores whose check is registered, per test.
var heldChecks sync.Map // heldCheck -> true

type heldCheck struct {
	t  testing.TB
	in persist.Inspector
}

// checkNoneHeld reports every stored session of in that is still held.
func checkNoneHeld(t testing.TB, in persist.Inspector) {
	t.Helper()
	err := in.Sessions(context.Background(), "", func(info persist.Info) error {
		if info.Locked {
			t.Errorf("session %s still held at the end of the test, want every lock released", info.Key)
		}
		return nil
	})
	if err != nil && !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Sessions at the end of the test: %v", err)
	}
}

func mustCreate(t testing.TB, e *engine.Engine) string {
	t.Helper()
	id, err := e.Create(context.Background())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return id
}

func set(t testing.TB, e *engine.Engine, id, key string, v any) {
	t.Helper()
	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set(key, v)
		return nil
	})
	if err != nil {
		t.Fatalf("Do(set %s): %v", key, err)
	}
}

func get(t testing.TB, e *engine.Engine, id, key string) any {
	t.Helper()
	var v any
	err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		v, _ = s.Get(key)
		return nil
	})
	if err != nil {
		t.Fatalf("Do(get %s): %v", key, err)
	}
	return v
}

func increment(ctx context.Context, e *engine.Engine, id string) error {
	return e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		n, _ := s.Get("n")
		c, _ := n.(int)
		s.Set("n", c+1)
		return nil
	})
}

// recordingStore wraps a Store, counting locks and saves per ID and
// failing saves on demand.
type recordingStore struct {
	persist.Store
	mu       sync.Mutex
	locks    map[string]int
	saves    map[string]int
	failSave error
}

func newRecordingStore() *recordingStore {
	return &recordingStore{Store: persist.NewMemory(), locks: map[string]int{}, saves: map[string]int{}}
}

func (r *recordingStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	l, err := r.Store.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.locks[id]++
	r.mu.Unlock()
	return &recordingLock{Lock: l, r: r, id: id}, nil
}

func (r *recordingStore) count(m map[string]int, id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return m[id]
}

func (r *recordingStore) setFailSave(err error) {
	r.mu.Lock()
	r.failSave = err
	r.mu.Unlock()
}

type recordingLock struct {
	persist.Lock
	r  *recordingStore
	id string
}

func (l *recordingLock) Save(rec persist.Record, sync bool) error {
	l.r.mu.Lock()
	err := l.r.failSave
	if err == nil {
		l.r.saves[l.id]++
	}
	l.r.mu.Unlock()
	if err != nil {
		return err
	}
	return l.Lock.Save(rec, sync)
}

var errBoom = errors.New("boom")

// within fails the test if ch does not deliver within d (a generous bound
// for a deadlock check, not a timing assertion).
func within[T any](t testing.TB, ch <-chan T, d time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("nothing after %v: deadlock?", d)
		panic("unreachable")
	}
}

// hold takes the turn of id on another goroutine and keeps it until the
// returned function is called.
func hold(e *engine.Engine, id string) (release func()) {
	holding, done := make(chan struct{}), make(chan struct{})
	go e.Do(context.Background(), id, func(context.Context, *engine.Session) error {
		close(holding)
		<-done
		return nil
	})
	<-holding
	return func() { close(done) }
}

// incrementConcurrently starts workers goroutines that each increment the
// counter of id each times, failing t on an error; wait waits for them.
func incrementConcurrently(t *testing.T, e *engine.Engine, id string, workers, each int) (wait func()) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if err := increment(context.Background(), e, id); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	return wg.Wait
}

// logSignal is a slog handler that sends on ch (without blocking) each
// time a record with the message msg is logged.
type logSignal struct {
	msg string
	ch  chan string
}

func newLogSignal(msg string) *logSignal {
	return &logSignal{msg: msg, ch: make(chan string, 100)}
}

func (l *logSignal) logger() *slog.Logger { return slog.New(l) }

func (l *logSignal) Enabled(context.Context, slog.Level) bool { return true }

func (l *logSignal) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	if r.Message == l.msg {
		select {
		case l.ch <- b.String():
		default:
		}
	}
	return nil
}

func (l *logSignal) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSignal) WithGroup(string) slog.Handler      { return l }
