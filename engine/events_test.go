package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// eventLog records the events an engine reports.
type eventLog struct {
	mu  sync.Mutex
	evs []engine.Event
}

func (l *eventLog) add(ev engine.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
}

// got returns the events without their times, which it checks are set.
func (l *eventLog) got(t *testing.T) []engine.Event {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]engine.Event, len(l.evs))
	for i, ev := range l.evs {
		assert.False(t, ev.Time.IsZero(), "event %d has no time", i)
		ev.Time = time.Time{}
		out[i] = ev
	}
	return out
}

// clock is a settable engine clock.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// opener returns a new engine on the store of one test; the caller
// closes it.
type opener func(t *testing.T, cfg engine.Config) *engine.Engine

// eventStores are the stores under test: a new Memory, and a new
// directory for the file store, each shared by the engines of one test.
func eventStores() []struct {
	name string
	new  func(t *testing.T) opener
} {
	return []struct {
		name string
		new  func(t *testing.T) opener
	}{
		{"memory", func(t *testing.T) opener {
			mem := persist.NewMemory()
			t.Cleanup(func() { mem.Close() })
			return func(t *testing.T, cfg engine.Config) *engine.Engine {
				e, err := engine.New(mem, cfg)
				require.NoError(t, err)
				return e
			}
		}},
		{"file", func(t *testing.T) opener {
			dir := t.TempDir()
			return func(t *testing.T, cfg engine.Config) *engine.Engine {
				e, err := engine.Open(dir, cfg)
				require.NoError(t, err)
				return e
			}
		}},
	}
}

// runEvents runs test on each store with an engine that records its
// events; test closes the engine (which delivers every queued event)
// before it reads the log.
func runEvents(t *testing.T, cfg engine.Config, test func(t *testing.T, open opener, e *engine.Engine, log *eventLog)) {
	for _, s := range eventStores() {
		t.Run(s.name, func(t *testing.T) {
			open := s.new(t)
			log := &eventLog{}
			cfg := cfg
			cfg.OnEvent = log.add
			cfg.SweepInterval = -1
			e := open(t, cfg)
			t.Cleanup(func() { e.Close() })
			test(t, open, e, log)
		})
	}
}

func TestEventsCreatedDestroyed(t *testing.T) {
	runEvents(t, engine.Config{}, func(t *testing.T, _ opener, e *engine.Engine, log *eventLog) {
		id := mustCreate(t, e)
		setOwner(t, e, id, "alice")
		set(t, e, id, "k", 1)
		require.NoError(t, e.Destroy(context.Background(), id))
		require.NoError(t, e.Close())
		key := persist.Key(id)
		assert.Equal(t, []engine.Event{
			{Kind: engine.SessionCreated, Key: key},
			{Kind: engine.SessionDestroyed, Key: key, Owner: "alice"},
		}, log.got(t))
	})
}

func TestEventsRegenerated(t *testing.T) {
	runEvents(t, engine.Config{}, func(t *testing.T, _ opener, e *engine.Engine, log *eventLog) {
		id := mustCreate(t, e)
		setOwner(t, e, id, "bob")
		newID, err := e.Regenerate(context.Background(), id)
		require.NoError(t, err)
		// Inline, in a turn that then fails: the Regenerate stands, and
		// so does its event.
		var third string
		boom := errors.New("boom")
		err = e.Do(context.Background(), newID, func(ctx context.Context, s *engine.Session) error {
			third, err = e.Regenerate(ctx, newID)
			require.NoError(t, err)
			return boom
		})
		require.ErrorIs(t, err, boom)
		require.NoError(t, e.Destroy(context.Background(), third))
		require.NoError(t, e.Close())
		assert.Equal(t, []engine.Event{
			{Kind: engine.SessionCreated, Key: persist.Key(id)},
			{Kind: engine.SessionRegenerated, Key: persist.Key(id), NewKey: persist.Key(newID), Owner: "bob"},
			{Kind: engine.SessionRegenerated, Key: persist.Key(newID), NewKey: persist.Key(third), Owner: "bob"},
			{Kind: engine.SessionDestroyed, Key: persist.Key(third), Owner: "bob"},
		}, log.got(t))
	})
}

// A lazy session is created by the commit that first stores it; one that
// never stores, or whose creating change is rolled back, reports nothing.
func TestEventsLazy(t *testing.T) {
	runEvents(t, engine.Config{}, func(t *testing.T, _ opener, e *engine.Engine, log *eventLog) {
		ctx := context.Background()

		idle, err := e.BeginLazy(ctx) // reads only
		require.NoError(t, err)
		require.NoError(t, idle.Do(func(_ context.Context, s *engine.Session) error {
			_, _ = s.Get("k")
			return nil
		}))
		require.NoError(t, idle.End())

		rolled, err := e.BeginLazy(ctx) // its creating change fails
		require.NoError(t, err)
		boom := errors.New("boom")
		require.ErrorIs(t, rolled.Do(func(_ context.Context, s *engine.Session) error {
			s.Set("k", 1)
			return boom
		}), boom)
		require.NoError(t, rolled.End())

		bad, err := e.BeginLazy(ctx) // its value does not encode: the commit rolls back
		require.NoError(t, err)
		require.Error(t, bad.Do(func(_ context.Context, s *engine.Session) error {
			s.Set("f", func() {})
			return nil
		}))
		require.NoError(t, bad.End())

		made, err := e.BeginLazy(ctx)
		require.NoError(t, err)
		require.NoError(t, made.Do(func(_ context.Context, s *engine.Session) error {
			s.SetOwner("carol")
			s.Set("k", 1)
			return nil
		}))
		id := made.ID()
		require.NoError(t, made.Commit())
		require.NoError(t, made.Do(func(_ context.Context, s *engine.Session) error {
			s.Set("k", 2)
			return nil
		}))
		require.NoError(t, made.End())
		set(t, e, id, "k", 3)

		require.NoError(t, e.Close())
		assert.Equal(t, []engine.Event{
			{Kind: engine.SessionCreated, Key: persist.Key(id), Owner: "carol"},
		}, log.got(t))
	})
}

// Expiry found by a turn, by an activation, at passivation and by the
// sweep: one SessionExpired each, with the owner.
func TestEventsExpired(t *testing.T) {
	c := &clock{}
	cfg := engine.Config{IdleTimeout: time.Hour, Now: c.now}
	runEvents(t, cfg, func(t *testing.T, open opener, e *engine.Engine, log *eventLog) {
		resident := mustCreate(t, e) // expires in the engine's memory
		setOwner(t, e, resident, "r")

		// Sessions another engine stored, not resident in e.
		other := open(t, cfg)
		swept := mustCreate(t, other)
		setOwner(t, other, swept, "s")
		loaded := mustCreate(t, other)
		setOwner(t, other, loaded, "l")
		require.NoError(t, other.Close())

		c.advance(2 * time.Hour)
		assert.ErrorIs(t, e.Do(context.Background(), resident, func(context.Context, *engine.Session) error { return nil }), engine.ErrNotFound)
		assert.ErrorIs(t, e.Do(context.Background(), loaded, func(context.Context, *engine.Session) error { return nil }), engine.ErrNotFound)
		rep, err := e.Sweep(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Expired)
		rep, err = e.Sweep(context.Background()) // nothing left
		require.NoError(t, err)
		assert.Equal(t, 0, rep.Expired)

		require.NoError(t, e.Close())
		var expired []engine.Event
		for _, ev := range log.got(t) {
			if ev.Kind != engine.SessionCreated {
				expired = append(expired, ev)
			}
		}
		assert.Equal(t, []engine.Event{
			{Kind: engine.SessionExpired, Key: persist.Key(resident), Owner: "r"},
			{Kind: engine.SessionExpired, Key: persist.Key(loaded), Owner: "l"},
			{Kind: engine.SessionExpired, Key: persist.Key(swept), Owner: "s"},
		}, expired)
	})
}

// A resident session that expires while idle is deleted by its
// passivation, which reports it.
func TestEventsExpiredAtPassivation(t *testing.T) {
	c := &clock{}
	runEvents(t, engine.Config{IdleTimeout: time.Hour, Now: c.now}, func(t *testing.T, _ opener, e *engine.Engine, log *eventLog) {
		id := mustCreate(t, e)
		setOwner(t, e, id, "p")
		c.advance(2 * time.Hour)
		require.NoError(t, e.Close()) // passivates: the session is past its deadline
		assert.Equal(t, []engine.Event{
			{Kind: engine.SessionCreated, Key: persist.Key(id)},
			{Kind: engine.SessionExpired, Key: persist.Key(id), Owner: "p"},
		}, log.got(t))
	})
}

// DestroyOwner reports each session it destroyed, resident in the engine
// or not, and nothing for the others.
func TestEventsDestroyOwner(t *testing.T) {
	runEvents(t, engine.Config{}, func(t *testing.T, open opener, e *engine.Engine, log *eventLog) {
		resident := mustCreate(t, e)
		setOwner(t, e, resident, "dave")
		kept := mustCreate(t, e)
		setOwner(t, e, kept, "erin")

		other := open(t, engine.Config{SweepInterval: -1})
		stored := mustCreate(t, other)
		setOwner(t, other, stored, "dave")
		require.NoError(t, other.Close())

		n, err := e.DestroyOwner(context.Background(), "dave")
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		n, err = e.DestroyOwner(context.Background(), "dave")
		require.NoError(t, err)
		assert.Equal(t, 0, n)

		require.NoError(t, e.Close())
		destroyed := map[string]string{}
		for _, ev := range log.got(t) {
			if ev.Kind == engine.SessionDestroyed {
				_, dup := destroyed[ev.Key]
				assert.False(t, dup, "two SessionDestroyed for %s", ev.Key)
				destroyed[ev.Key] = ev.Owner
			}
		}
		assert.Equal(t, map[string]string{persist.Key(resident): "dave", persist.Key(stored): "dave"}, destroyed)
	})
}

// A callback that blocks never holds a turn up: events past the queue are
// dropped and counted; the rest are delivered, in order, once it returns.
func TestEventsSlowCallback(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var log eventLog
	first := true
	e := newEngine(t, nil, engine.Config{SweepInterval: -1, OnEvent: func(ev engine.Event) {
		if first {
			first = false
			close(entered)
			<-release
		}
		log.add(ev)
	}})
	ids := []string{mustCreate(t, e)}
	<-entered // the dispatcher holds the first event; the queue is empty
	const queue, extra = 4096, 10
	for range queue + extra {
		ids = append(ids, mustCreate(t, e))
	}
	assert.Equal(t, uint64(extra), e.Stats().EventsDropped)
	set(t, e, ids[0], "k", 1) // turns still run
	close(release)
	require.NoError(t, e.Close())
	got := log.got(t)
	require.Len(t, got, 1+queue)
	for i, ev := range got {
		assert.Equal(t, persist.Key(ids[i]), ev.Key, "event %d", i)
	}
}

// The callback runs outside any turn: it may call the engine, even on the
// session the event is about.
func TestEventsCallbackCallsEngine(t *testing.T) {
	var e *engine.Engine
	done := make(chan error, 1)
	e = newEngine(t, nil, engine.Config{SweepInterval: -1, OnEvent: func(ev engine.Event) {
		if ev.Kind == engine.SessionCreated {
			_, err := e.DestroyOwner(context.Background(), "nobody")
			done <- err
		}
	}})
	mustCreate(t, e)
	require.NoError(t, <-done)
}

// A lazy session regenerated in the turn that creates it is first stored
// under the new ID: one SessionCreated for that ID, no SessionRegenerated.
func TestEventsLazyRegenerated(t *testing.T) {
	runEvents(t, engine.Config{}, func(t *testing.T, _ opener, e *engine.Engine, log *eventLog) {
		turn, err := e.BeginLazy(context.Background())
		require.NoError(t, err)
		var newID string
		require.NoError(t, turn.Do(func(ctx context.Context, s *engine.Session) error {
			s.Set("k", 1)
			var err error
			newID, err = e.Regenerate(ctx, s.ID())
			return err
		}))
		require.NoError(t, turn.End())
		require.NoError(t, e.Close())
		assert.Equal(t, []engine.Event{{Kind: engine.SessionCreated, Key: persist.Key(newID)}}, log.got(t))
	})
}
