package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// EventKind says what happened to a session in an [Event].
type EventKind uint8

const (
	// SessionCreated: the session's record was first stored, by
	// [Engine.Create] or by the commit of a lazy turn's first change. A lazy
	// session that never stores anything, or whose creating change is
	// rolled back, has no event.
	SessionCreated EventKind = iota + 1
	// SessionRegenerated: [Engine.Regenerate] moved the session to a new
	// ID; Event.NewKey is the new session's key. The new ID has no
	// SessionCreated of its own.
	SessionRegenerated
	// SessionDestroyed: [Engine.Destroy] or [Engine.DestroyOwner] deleted
	// the session.
	SessionDestroyed
	// SessionExpired: the engine (a turn or a passivation that found the
	// session past its deadline) or a sweep deleted the expired record.
	SessionExpired
)

// String returns the constant's name.
func (k EventKind) String() string {
	switch k {
	case SessionCreated:
		return "SessionCreated"
	case SessionRegenerated:
		return "SessionRegenerated"
	case SessionDestroyed:
		return "SessionDestroyed"
	case SessionExpired:
		return "SessionExpired"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is a change in a session's life, passed to Config.OnEvent after
// it happened in the store. It names the session by its store key (see
// persist.Key), never by its ID: the ID is a bearer secret, and the key is
// what operators and the dashboard address sessions by.
type Event struct {
	Kind   EventKind // what happened
	Key    string    // the store key (SHA-256 of the ID), never the ID itself
	NewKey string    // SessionRegenerated: the new session's key
	Owner  string    // the owner at the time of the event ("" for none)
	Time   time.Time // when the engine saw the change (Config.Now)
}

// eventQueueLen bounds the events waiting for Config.OnEvent: a burst of
// creations or a large sweep fits, while a callback that stops returning
// costs a bounded amount of memory (about 100 bytes an event) and never
// holds a turn up. Past it events are dropped and counted.
const eventQueueLen = 4096

// events delivers the engine's events to Config.OnEvent, in the order
// they were reported, on one goroutine of its own.
type events struct {
	fn      func(Event)
	queue   chan Event    // capacity eventQueueLen
	stop    chan struct{} // closed by Shutdown: deliver what is queued, then return
	done    chan struct{} // closed when the dispatcher has returned
	dropped atomic.Uint64
}

// startEvents starts the dispatcher if cfg has an OnEvent; nil otherwise.
func startEvents(fn func(Event)) *events {
	if fn == nil {
		return nil
	}
	ev := &events{
		fn:    fn,
		queue: make(chan Event, eventQueueLen),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go ev.run()
	return ev
}

func (ev *events) run() {
	defer close(ev.done)
	for {
		select {
		case x := <-ev.queue:
			ev.fn(x)
		case <-ev.stop:
			for {
				select {
				case x := <-ev.queue:
					ev.fn(x)
				default:
					return
				}
			}
		}
	}
}

// emit queues an event of kind on the session of key. It never blocks: a
// full queue drops the event, counts it (Stats.EventsDropped) and logs the
// first drop and every 1024th. Events of one session are reported while
// its turn (or its store lock) is held, so that one queue keeps them in
// order per session.
func (e *Engine) emit(kind EventKind, key, newKey, owner string) {
	ev := e.events
	if ev == nil {
		return
	}
	select {
	case ev.queue <- Event{Kind: kind, Key: key, NewKey: newKey, Owner: owner, Time: e.cfg.Now()}:
	default:
		if n := ev.dropped.Add(1); n%1024 == 1 {
			e.cfg.Logger.Warn("engine: Config.OnEvent falls behind; events dropped", "dropped", n, "queue", eventQueueLen)
		}
	}
}

// emitID is emit for the session id.
func (e *Engine) emitID(kind EventKind, id, owner string) {
	if e.events != nil {
		e.emit(kind, persist.Key(id), "", owner)
	}
}

// emitSwept reports the records a sweep removed as expired.
func (e *Engine) emitSwept(rep persist.SweepReport) {
	for _, info := range rep.Removed {
		e.emit(SessionExpired, info.Key, "", info.Owner)
	}
}

// stopEvents delivers the events still queued and stops the dispatcher,
// waiting for it until ctx ends. A callback that does not return by then
// is left to finish on the dispatcher's goroutine, which then delivers
// what is left and ends; nothing waits for it. It returns ctx's error
// unless prior, Shutdown's error so far, already is it.
func (e *Engine) stopEvents(ctx context.Context, prior error) error {
	ev := e.events
	if ev == nil {
		return nil
	}
	close(ev.stop)
	select {
	case <-ev.done:
		return nil
	case <-ctx.Done():
		if errors.Is(prior, ctx.Err()) {
			return nil
		}
		return ctx.Err()
	}
}

// eventsDropped returns how many events a full queue dropped.
func (e *Engine) eventsDropped() uint64 {
	if e.events == nil {
		return 0
	}
	return e.events.dropped.Load()
}
