package persist

import "sync"

// Holders is a helper for Store implementations that lease sessions to
// their Locks (the Redis and PostgreSQL stores use it alike): it keeps, by
// key, the Lock of one Store that holds each session, and counts the Locks
// of that Store that are taking a session's lease right now, so that a
// request to hand over reaches the holder, or is kept for the Lock that is
// about to become it.
//
// L is the Store's Lock type, a pointer: its zero value means "none". A
// typical take calls Begin (and asks the holder it returns instead of the
// server), takes the lease, and calls End; a request to hand over that the
// Store hears goes through Request to the holder's wanted; the release
// calls Forget.
//
// The zero value is ready to use; nothing in it needs closing. All methods
// are safe for concurrent use and never block; they call nothing of L, so
// that the caller can call its wanted after they return.
type Holders[L comparable] struct {
	mu    sync.Mutex             // guards byKey
	byKey map[string]*holding[L] // sessions held or being taken
}

// holding is a session held, or being taken, through one Store.
type holding[L comparable] struct {
	l      L    // zero while the lease is being taken
	takers int  // Locks of the Store taking the lease
	asked  bool // asked for while being taken: pass it on once held
}

// Begin starts a take of the session key. If a Lock of this Store holds it,
// Begin returns that Lock, and the take must not go on: the server would
// refuse it, and the caller asks that holder (its wanted) to hand over
// instead. Otherwise it returns the zero L and counts a take, which the
// caller must end with End.
func (h *Holders[L]) Begin(key string) (holder L) {
	var none L
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.byKey[key]
	if s != nil && s.l != none {
		return s.l
	}
	if s == nil {
		if h.byKey == nil {
			h.byKey = make(map[string]*holding[L])
		}
		s = &holding[L]{}
		h.byKey[key] = s
	}
	s.takers++
	return none
}

// End ends a take that Begin started; got says whether l took the lease,
// which makes it the holder of key. End reports whether a request to hand
// over came while l was taking it: then the caller passes it on (calls l's
// wanted).
func (h *Holders[L]) End(key string, l L, got bool) (asked bool) {
	var none L
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.byKey[key]
	s.takers--
	switch {
	case got:
		s.l = l
		asked = s.asked
		s.asked = false
	case s.takers == 0 && s.l == none:
		delete(h.byKey, key)
	}
	return asked
}

// Request returns the holder of key, to which the caller passes a request
// to hand over (calls its wanted). If a take of key is going on instead, it
// keeps the request for the Lock that takes the lease (End reports it), and
// returns the zero L, as it does when the Store has nothing of key.
func (h *Holders[L]) Request(key string) (holder L) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.byKey[key]
	switch {
	case s == nil:
	case s.l != holder:
		return s.l
	default:
		s.asked = true
	}
	return holder
}

// Forget drops l, if it holds key; a take of key going on is kept.
func (h *Holders[L]) Forget(key string, l L) {
	var none L
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.byKey[key]; s != nil && s.l == l {
		if s.takers > 0 {
			s.l = none
		} else {
			delete(h.byKey, key)
		}
	}
}

// Holder returns the Lock that holds key, or the zero L.
func (h *Holders[L]) Holder(key string) L {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.byKey[key]; s != nil {
		return s.l
	}
	var none L
	return none
}

// Locks returns the Locks that hold a session, in no order.
func (h *Holders[L]) Locks() []L {
	var none L
	h.mu.Lock()
	defer h.mu.Unlock()
	ls := make([]L, 0, len(h.byKey))
	for _, s := range h.byKey {
		if s.l != none {
			ls = append(ls, s.l)
		}
	}
	return ls
}

// Len returns the number of sessions held or being taken.
func (h *Holders[L]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byKey)
}
