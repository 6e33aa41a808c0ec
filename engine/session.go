package engine

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockstep-go/lockstep/actor"
	"github.com/lockstep-go/lockstep/persist"
)

// Session is the view of one session's values that a turn works on. It is
// valid only inside the fn of the Do (or the Turn) that handed it out, and
// only on that goroutine: the turn is what makes it safe.
type Session struct {
	st      *sessionState
	view    bool   // the session of a View: changes are refused
	refused string // the first change a View refused ("Set", ...)
}

// sessionState is everything the actor of one session owns.
type sessionState struct {
	e       *Engine
	id      string       // "" for a lazy session not created yet
	lock    persist.Lock // nil for a lazy, destroyed or tombstone state
	gone    bool         // destroyed, expired or moved: turns get ErrNotFound
	created time.Time
	used    time.Time // start of the last turn
	expires time.Time // the expiry last written to the store
	// refreshBy is when a use makes the stored expiry fall behind: a turn
	// that starts after it writes the record (see Engine.refresh).
	refreshBy time.Time
	wanted    atomic.Bool // another holder asked for the session (a hand-over)
	// viewed is the start of the last shared turn (View), in Unix
	// nanoseconds: shared turns run together and cannot write used.
	viewed atomic.Int64
	// refreshByNs is refreshBy in Unix nanoseconds, for shared turns.
	refreshByNs atomic.Int64
	// refreshMu is held by the one shared turn that refreshes the stored
	// expiry (see Engine.commitShared); it guards what a refresh writes
	// while shared turns run.
	refreshMu sync.Mutex

	values    map[string]any
	meta      sessionMeta // owner and own limits (journaled like values)
	savedMeta sessionMeta // meta as last written to the store
	journal   []change    // undo log of the current turn, oldest first
	dirty     bool        // changes not yet written (OnPassivate)
	stored    bool        // a record exists in the store
	lost      bool        // the store lock was lost: retire without saving

	// extra holds turns taken during the current turn (on the new ID of a
	// Regenerate, or of a lazy session's creation), released with it.
	extra []*actor.Turn[string, *sessionState]
	ctx   context.Context // the current outermost turn's context
	err   error           // a deferred error (lazy creation), returned at commit
	ob    *observed       // for Config.Observer; nil without one

	sess Session
}

// change undoes one modification.
type change struct {
	key     string
	old     any
	had     bool
	cleared map[string]any // non-nil: the map that Clear replaced
	created bool           // the lazy session was created here
	meta    bool           // old holds the sessionMeta that was replaced
}

func newSessionState(e *Engine, id string, values map[string]any) *sessionState {
	st := &sessionState{e: e, id: id, values: values}
	st.sess.st = st
	return st
}

// ID returns the session's ID. After an inline Regenerate it is the new ID;
// in a lazy turn it is "" until the first Set creates the session.
func (s *Session) ID() string { return s.st.id }

// Get returns the value stored under key.
func (s *Session) Get(key string) (any, bool) {
	v, ok := s.st.values[key]
	return v, ok
}

// Set stores value under key. Values must be encodable with encoding/gob;
// custom types must be registered with gob.Register. In a lazy turn the
// first Set creates the session. After Destroy in the same turn, Set does
// nothing.
func (s *Session) Set(key string, value any) {
	if s.view {
		s.refuse("Set")
		return
	}
	st := s.st
	if !st.writable() {
		return
	}
	old, had := st.values[key]
	st.journal = append(st.journal, change{key: key, old: old, had: had})
	st.values[key] = value
}

// writable reports whether the session takes changes (it was not
// destroyed), creating a lazy session at its first change.
func (st *sessionState) writable() bool {
	if st.gone {
		return false
	}
	if st.id == "" && st.e.materialize(st) {
		st.journal = append(st.journal, change{created: true})
	}
	return true
}

// setMeta replaces the session's meta through s, refused in a View as op.
func (s *Session) setMeta(op string, m sessionMeta) {
	if s.view {
		s.refuse(op)
		return
	}
	s.st.setMeta(m)
}

// refuse records a change that a View made: it is not applied, and the
// View returns ErrReadOnly.
func (s *Session) refuse(op string) {
	if s.refused == "" {
		s.refused = op
	}
}

// setMeta replaces the session's meta, journaled like a value.
func (st *sessionState) setMeta(m sessionMeta) {
	if m == st.meta || !st.writable() {
		return
	}
	st.journal = append(st.journal, change{meta: true, old: st.meta})
	st.meta = m
}

// Delete removes key.
func (s *Session) Delete(key string) {
	if s.view {
		s.refuse("Delete")
		return
	}
	st := s.st
	old, had := st.values[key]
	if !had || st.gone {
		return
	}
	st.journal = append(st.journal, change{key: key, old: old, had: true})
	delete(st.values, key)
}

// Keys returns the keys in sorted order.
func (s *Session) Keys() []string {
	keys := make([]string, 0, len(s.st.values))
	for k := range s.st.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Len returns the number of keys.
func (s *Session) Len() int { return len(s.st.values) }

// Clear removes every key.
func (s *Session) Clear() {
	if s.view {
		s.refuse("Clear")
		return
	}
	st := s.st
	if len(st.values) == 0 || st.gone {
		return
	}
	st.journal = append(st.journal, change{cleared: st.values})
	st.values = make(map[string]any)
}

// rollback undoes the changes recorded after mark. A mark past the end
// (the journal was cut by Regenerate or Destroy) undoes nothing.
func (st *sessionState) rollback(mark int) {
	mark = min(mark, len(st.journal))
	for i := len(st.journal) - 1; i >= mark; i-- {
		c := st.journal[i]
		switch {
		case c.created:
			st.e.unmaterialize(st)
		case c.meta:
			st.meta = c.old.(sessionMeta)
		case c.cleared != nil:
			st.values = c.cleared
		case c.had:
			st.values[c.key] = c.old
		default:
			delete(st.values, c.key)
		}
	}
	st.truncate(mark)
}

// truncate forgets the journal after mark, dropping references to old values.
func (st *sessionState) truncate(mark int) {
	mark = min(mark, len(st.journal))
	clear(st.journal[mark:])
	st.journal = st.journal[:mark]
}

// lastUse returns the start of the session's last turn, shared turns
// included.
func (st *sessionState) lastUse() time.Time {
	if v := st.viewed.Load(); v != 0 && v > st.used.UnixNano() {
		return time.Unix(0, v)
	}
	return st.used
}

// viewGrain is how much later than the last recorded one a shared turn
// must start to be recorded: Views running together on many cores would
// otherwise all write one cache line. A session's last use may thus be
// recorded up to viewGrain early, against idle timeouts of minutes.
const viewGrain = int64(time.Millisecond)

// markViewed records that a shared turn started at now.
func (st *sessionState) markViewed(now time.Time) {
	n := now.UnixNano()
	for {
		v := st.viewed.Load()
		if n-v < viewGrain || st.viewed.CompareAndSwap(v, n) {
			return
		}
	}
}
