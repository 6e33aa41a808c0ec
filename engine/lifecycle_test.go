package engine_test

import (
	"context"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// Guarantee 7 (docs/architecture.md): Create returns 256 random bits,
// base64url without padding, and the session exists in the store before
// Create returns.
func TestCreate(t *testing.T) {
	store := persist.NewMemory()
	e := newEngine(t, store, engine.Config{})
	seen := map[string]bool{}
	for i := range 100 {
		id := mustCreate(t, e)
		if len(id) != 43 || !engine.ValidID(id) {
			t.Fatalf("id %q: want 43 valid characters", id)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != 32 {
			t.Fatalf("id %q decodes to %d bytes (%v), want 32", id, len(raw), err)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		if got := store.Len(); got != i+1 {
			t.Fatalf("store holds %d records after %d Creates", got, i+1)
		}
	}
}

func TestValidID(t *testing.T) {
	good := strings.Repeat("A", 42) + "E"
	tests := []struct {
		id   string
		want bool
	}{
		{good, true},
		{strings.Repeat("A", 42) + "B", false}, // non-canonical trailing bits
		{strings.Repeat("A", 42), false},
		{strings.Repeat("A", 44), false},
		{strings.Repeat("A", 42) + "=", false},
		{strings.Repeat("A", 41) + "+A", false},
		{strings.Repeat("A", 41) + "/A", false},
		{"../../etc/passwd", false},
		{"", false},
		{"maliciousid", false},
		{strings.Repeat("_", 42) + "w", true},
	}
	for _, tt := range tests {
		if got := engine.ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// Guarantee 8 (docs/architecture.md): malformed, unknown, expired or
// destroyed IDs are not found, and a client-supplied ID is never adopted.
func TestNotFound(t *testing.T) {
	store := newRecordingStore()
	e := newEngine(t, store, engine.Config{})
	unknown := strings.Repeat("A", 42) + "E"
	for _, id := range []string{"", "maliciousid", "../session-x", strings.Repeat("A", 42) + "B", unknown} {
		ran := false
		err := e.Do(context.Background(), id, func(context.Context, *engine.Session) error {
			ran = true
			return nil
		})
		if !errors.Is(err, engine.ErrNotFound) || ran {
			t.Errorf("Do(%q) = %v (ran %v), want ErrNotFound", id, err, ran)
		}
	}
	for _, id := range []string{"", "maliciousid", "../session-x"} {
		if n := store.count(store.locks, id); n != 0 {
			t.Errorf("malformed id %q reached the store %d times", id, n)
		}
	}
	if n := store.Store.(*persist.Memory).Len(); n != 0 {
		t.Errorf("store holds %d records after Do on unknown IDs, want 0 (fixation)", n)
	}
	if _, err := e.Regenerate(context.Background(), unknown); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Regenerate(unknown) = %v, want ErrNotFound", err)
	}
	if err := e.Destroy(context.Background(), unknown); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Destroy(unknown) = %v, want ErrNotFound", err)
	}
}

// Guarantee 9 (docs/architecture.md): Destroy kills the session; a Do queued
// behind an inline Destroy gets ErrNotFound.
func TestDoQueuedBehindInlineDestroy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := persist.NewMemory()
		e := newEngine(t, store, engine.Config{})
		id := mustCreate(t, e)
		holding, release := make(chan struct{}), make(chan struct{})
		outer := make(chan error, 1)
		go func() {
			outer <- e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
				close(holding)
				<-release
				if err := e.Destroy(ctx, id); err != nil {
					return err
				}
				s.Set("after", 1) // dropped: the session is gone
				return nil
			})
		}()
		<-holding
		queued := make(chan error, 1)
		go func() { queued <- increment(context.Background(), e, id) }()
		synctest.Wait()
		close(release)
		if err := <-outer; err != nil {
			t.Fatalf("outer Do: %v", err)
		}
		if err := <-queued; !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("queued Do = %v, want ErrNotFound", err)
		}
		if err := increment(context.Background(), e, id); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("later Do = %v, want ErrNotFound", err)
		}
		if n := store.Len(); n != 0 {
			t.Fatalf("store holds %d records, want 0", n)
		}
	})
}

// Guarantee 9 (docs/architecture.md): a Do queued behind a Regenerate cannot
// resurrect the old ID.
func TestRegenerate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := persist.NewMemory()
		e := newEngine(t, store, engine.Config{})
		id := mustCreate(t, e)
		set(t, e, id, "user", "alice")
		holding, release := make(chan struct{}), make(chan struct{})
		newID := make(chan string, 1)
		go func() {
			var nid string
			err := e.Do(context.Background(), id, func(ctx context.Context, s *engine.Session) error {
				close(holding)
				<-release
				s.Set("before", 1)
				var err error
				nid, err = e.Regenerate(ctx, id)
				if err != nil {
					return err
				}
				if s.ID() != nid {
					t.Errorf("s.ID() = %q after inline Regenerate, want the new ID", s.ID())
				}
				s.Set("after", 2)
				// The new ID is reachable inline too.
				return e.Do(ctx, nid, func(_ context.Context, s *engine.Session) error {
					s.Set("nested", 3)
					return nil
				})
			})
			if err != nil {
				t.Errorf("outer Do: %v", err)
			}
			newID <- nid
		}()
		<-holding
		queued := make(chan error, 1)
		go func() { queued <- increment(context.Background(), e, id) }()
		synctest.Wait()
		close(release)
		nid := <-newID
		if err := <-queued; !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("Do queued on the old ID = %v, want ErrNotFound", err)
		}
		if nid == id || !engine.ValidID(nid) {
			t.Fatalf("new ID %q", nid)
		}
		assertValues(t, e, nid, map[string]any{"user": "alice", "before": 1, "after": 2, "nested": 3})
		if n := store.Len(); n != 1 {
			t.Fatalf("store holds %d records, want 1", n)
		}
		// Regenerate outside a turn.
		third, err := e.Regenerate(context.Background(), nid)
		if err != nil {
			t.Fatal(err)
		}
		if err := increment(context.Background(), e, nid); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("Do on regenerated ID = %v, want ErrNotFound", err)
		}
		assertValues(t, e, third, map[string]any{"user": "alice", "before": 1, "after": 2, "nested": 3})
	})
}

// Regenerate survives passivation and reload under the new ID.
func TestRegenerateThenPassivate(t *testing.T) {
	store := persist.NewMemory()
	e, err := engine.New(store, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	id := mustCreate(t, e)
	set(t, e, id, "k", "v")
	nid, err := e.Regenerate(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	set(t, e, nid, "k2", "v2")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := newEngine(t, store, engine.Config{})
	assertValues(t, e2, nid, map[string]any{"k": "v", "k2": "v2"})
	if err := increment(context.Background(), e2, id); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("old ID after restart = %v, want ErrNotFound", err)
	}
}

type profile struct {
	Name  string
	Roles []string
	Since time.Time
}

// Guarantee 10 (docs/architecture.md): values keep their Go types across
// passivation and restart.
func TestTypesSurviveRestart(t *testing.T) {
	gob.Register(profile{})
	store := persist.NewMemory()
	want := map[string]any{
		"int":     42,
		"int64":   int64(-7),
		"uint8":   uint8(200),
		"float":   3.5,
		"string":  "héllo",
		"bool":    true,
		"bytes":   []byte{0, 1, 2},
		"strings": []string{"a", "b"},
		"profile": profile{Name: "ann", Roles: []string{"admin"}, Since: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for _, durability := range []engine.Durability{engine.OnCommit, engine.OnCommitSync, engine.OnPassivate} {
		t.Run(durability.String(), func(t *testing.T) {
			e, err := engine.New(store, engine.Config{Durability: durability})
			if err != nil {
				t.Fatal(err)
			}
			id := mustCreate(t, e)
			err = e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				for k, v := range want {
					s.Set(k, v)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e2 := newEngine(t, store, engine.Config{})
			got := map[string]any{}
			e2.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
				for _, k := range s.Keys() {
					got[k], _ = s.Get(k)
				}
				return nil
			})
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("after restart:\n got %#v\nwant %#v", got, want)
			}
		})
	}
}

// Guarantee 11 (docs/architecture.md): idle expiry counts from the last Do,
// Lifetime from Create, resident or not.
func TestExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, nil, engine.Config{IdleTimeout: time.Minute, PassivateAfter: 10 * time.Second, SweepInterval: -1})
		id := mustCreate(t, e)
		for range 5 { // kept alive by use, across passivations
			time.Sleep(50 * time.Second)
			if err := increment(context.Background(), e, id); err != nil {
				t.Fatalf("Do within the idle timeout: %v", err)
			}
		}
		time.Sleep(time.Minute)
		if err := increment(context.Background(), e, id); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("Do after the idle timeout = %v, want ErrNotFound", err)
		}

		// Resident (no passivation in between).
		e2 := newEngine(t, nil, engine.Config{IdleTimeout: time.Minute, PassivateAfter: time.Hour, SweepInterval: -1})
		id2 := mustCreate(t, e2)
		increment(context.Background(), e2, id2)
		time.Sleep(time.Minute)
		if err := increment(context.Background(), e2, id2); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("resident Do after the idle timeout = %v, want ErrNotFound", err)
		}

		e3 := newEngine(t, nil, engine.Config{IdleTimeout: time.Minute, Lifetime: 3 * time.Minute, SweepInterval: -1})
		id3 := mustCreate(t, e3)
		for range 5 {
			time.Sleep(30 * time.Second)
			if err := increment(context.Background(), e3, id3); err != nil {
				t.Fatalf("Do within the lifetime: %v", err)
			}
		}
		time.Sleep(31 * time.Second)
		if err := increment(context.Background(), e3, id3); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("Do after the lifetime = %v, want ErrNotFound", err)
		}
	})
}

// Sweep removes expired sessions that are not resident.
func TestSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := persist.NewMemory()
		e := newEngine(t, store, engine.Config{IdleTimeout: time.Minute, SweepInterval: -1})
		for range 3 {
			mustCreate(t, e)
		}
		keep := mustCreate(t, e)
		time.Sleep(45 * time.Second)
		increment(context.Background(), e, keep)
		time.Sleep(30 * time.Second) // the others' records expired at 60s; keep is resident
		rep, err := e.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Expired != 3 || rep.Busy != 0 || store.Len() != 1 {
			t.Fatalf("report %+v, %d records left; want 3 expired, 1 left", rep, store.Len())
		}
	})
}

// The background sweeper runs every SweepInterval.
func TestBackgroundSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := persist.NewMemory()
		newEngine(t, store, engine.Config{IdleTimeout: time.Minute, SweepInterval: 5 * time.Minute})
		e := newEngine(t, store, engine.Config{SweepInterval: -1, IdleTimeout: time.Minute})
		mustCreate(t, e)
		time.Sleep(5*time.Minute + time.Second)
		synctest.Wait()
		if n := store.Len(); n != 0 {
			t.Fatalf("%d records left after the sweeper ran, want 0", n)
		}
	})
}

// Guarantee 12 (docs/architecture.md): passivation saves, releases the lock
// and drops the actor.
func TestIdlePassivation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRecordingStore()
		e := newEngine(t, store, engine.Config{PassivateAfter: time.Second, Durability: engine.OnPassivate})
		id := mustCreate(t, e)
		set(t, e, id, "a", 1)
		if got := e.Stats().Active; got != 1 {
			t.Fatalf("Active = %d, want 1", got)
		}
		saves := store.count(store.saves, id)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := e.Stats().Active; got != 0 {
			t.Fatalf("Active after idle = %d, want 0", got)
		}
		if got := store.count(store.saves, id); got != saves+1 {
			t.Fatalf("saves = %d, want %d (one at passivation)", got, saves+1)
		}
		locks := store.count(store.locks, id)
		if got := get(t, e, id, "a"); got != 1 {
			t.Fatalf("a = %v after reload, want 1", got)
		}
		if got := store.count(store.locks, id); got != locks+1 {
			t.Fatalf("locks = %d, want %d (reactivated)", got, locks+1)
		}
	})
}

// Durability: OnCommit writes changing turns only; OnPassivate defers.
func TestDurabilityWrites(t *testing.T) {
	for _, tt := range []struct {
		d         engine.Durability
		wantSaves int
	}{{engine.OnCommit, 3}, {engine.OnCommitSync, 3}, {engine.OnPassivate, 1}} {
		t.Run(tt.d.String(), func(t *testing.T) {
			store := newRecordingStore()
			e := newEngine(t, store, engine.Config{Durability: tt.d})
			id := mustCreate(t, e) // 1 save
			for i := range 2 {
				set(t, e, id, "k", i)
				get(t, e, id, "k")
			}
			if got := store.count(store.saves, id); got != tt.wantSaves {
				t.Fatalf("saves = %d, want %d", got, tt.wantSaves)
			}
		})
	}
}

// MaxResident passivates the least recently used idle session.
func TestMaxResidentEvictsLRU(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newRecordingStore()
		e := newEngine(t, store, engine.Config{MaxResident: 2})
		a, b, c := mustCreate(t, e), mustCreate(t, e), mustCreate(t, e)
		for _, id := range []string{a, b} {
			increment(context.Background(), e, id)
			time.Sleep(time.Millisecond)
		}
		increment(context.Background(), e, a) // b is now the least recently used
		time.Sleep(time.Millisecond)
		increment(context.Background(), e, c)
		synctest.Wait()
		if got := e.Stats().Active; got != 2 {
			t.Fatalf("Active = %d, want 2", got)
		}
		lockA, lockB := store.count(store.locks, a), store.count(store.locks, b)
		increment(context.Background(), e, a)
		if got := store.count(store.locks, a); got != lockA {
			t.Errorf("a was reloaded: it should have stayed resident")
		}
		synctest.Wait()
		increment(context.Background(), e, b)
		if got := store.count(store.locks, b); got != lockB+1 {
			t.Errorf("b was not reloaded: it should have been evicted")
		}
	})
}

// Guarantee 12 (docs/architecture.md): Close passivates everything; later
// calls get ErrClosed.
func TestClose(t *testing.T) {
	store := newRecordingStore()
	e, err := engine.New(store, engine.Config{Durability: engine.OnPassivate})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = mustCreate(t, e)
		set(t, e, ids[i], "i", i)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := e.Stats().Active; got != 0 {
		t.Fatalf("Active after Close = %d", got)
	}
	for _, id := range ids {
		if got := store.count(store.saves, id); got != 2 {
			t.Fatalf("saves of %s = %d, want 2 (create, close)", id, got)
		}
	}
	if err := increment(context.Background(), e, ids[0]); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Do after Close = %v, want ErrClosed", err)
	}
	if _, err := e.Create(context.Background()); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Create after Close = %v, want ErrClosed", err)
	}
	if _, err := e.Sweep(context.Background()); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Sweep after Close = %v, want ErrClosed", err)
	}
}

// A save that fails at Close is reported, and the lock is released anyway.
func TestCloseReportsFailedSave(t *testing.T) {
	store := newRecordingStore()
	e, err := engine.New(store, engine.Config{Durability: engine.OnPassivate})
	if err != nil {
		t.Fatal(err)
	}
	id := mustCreate(t, e)
	set(t, e, id, "pending", 1)
	diskFull := errors.New("no space left on device")
	store.setFailSave(diskFull)
	if err := e.Close(); !errors.Is(err, diskFull) {
		t.Fatalf("Close = %v, want the failed save", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := store.Lock(ctx, id, nil)
	if err != nil {
		t.Fatalf("the lock is still held after Close: %v", err)
	}
	l.Release()
}

// Close waits for a turn in progress, which still commits.
func TestCloseWaitsForTurns(t *testing.T) {
	store := persist.NewMemory()
	e, err := engine.New(store, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	id := mustCreate(t, e)
	holding, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			close(holding)
			<-release
			s.Set("late", true)
			return nil
		})
	})
	<-holding
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	close(release)
	if err := within(t, closed, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	e2 := newEngine(t, store, engine.Config{})
	if got := get(t, e2, id, "late"); got != true {
		t.Fatalf("late = %v, want true", got)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []engine.Config{
		{IdleTimeout: -1},
		{LockTimeout: -time.Second},
		{MaxResident: -1},
		{Durability: 7},
	} {
		if _, err := engine.New(persist.NewMemory(), cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
	e := newEngine(t, nil, engine.Config{IdleTimeout: time.Minute})
	got := e.Config()
	if got.PassivateAfter != time.Minute || got.LockTimeout != engine.DefaultLockTimeout ||
		got.MaxResident < 16 || got.MaxResident > engine.DefaultMaxResident { // derived from RLIMIT_NOFILE
		t.Fatalf("defaults not applied: %+v", got)
	}
}
