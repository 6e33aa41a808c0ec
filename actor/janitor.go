package actor

import "time"

func (r *Runtime[K, V]) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// janitor passivates actors that were asked to retire, that are idle for
// longer than PassivateAfter, or that exceed MaxResident.
func (r *Runtime[K, V]) janitor() {
	defer close(r.done)
	var tick <-chan time.Time
	if r.cfg.PassivateAfter > 0 {
		ticker := time.NewTicker(max(r.cfg.PassivateAfter/2, time.Millisecond))
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case <-r.stop:
			return
		case <-tick:
			r.passivateIdle()
		case <-r.kick:
			r.retireQueued()
			r.evictOverflow()
		}
	}
}

// retireQueued passivates the actors that Retire asked for.
func (r *Runtime[K, V]) retireQueued() {
	r.mu.Lock()
	q := r.retireQ
	r.retireQ = nil
	r.retiring.Store(false)
	r.mu.Unlock()
	for _, a := range q {
		a.mu.Lock()
		a.queued = false
		a.mu.Unlock()
		if r.closed.Load() {
			continue // Shutdown passivates it
		}
		r.tryPassivate(a, retiring)
	}
}

// retiring reports whether a was asked to retire. Retire sets the flag
// under a.mu at any time, so it is read under a.mu too.
func retiring[K comparable, V any](a *actor[K, V]) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.retire
}

// passivateIdle passivates the actors unused for PassivateAfter. They are
// the front of the least-recently-used list, which is ordered by lastUsed.
func (r *Runtime[K, V]) passivateIdle() {
	limit := r.now() - int64(r.cfg.PassivateAfter)
	idle := func(a *actor[K, V]) bool { return a.lastUsed.Load() <= limit }
	r.lruMu.Lock()
	var old []*actor[K, V]
	for a := r.lru.front; a != nil && idle(a); a = a.next {
		old = append(old, a)
	}
	r.lruMu.Unlock()
	for _, a := range old {
		if r.closed.Load() {
			return // Shutdown passivates the rest, within its ctx
		}
		r.serveRetires()
		r.tryPassivate(a, idle)
	}
}

// serveRetires passivates the actors that Retire asked for, if any, ahead
// of the rest of a batch of idle or overflowing actors: a hand-over request
// waits for at most one passivation, not for the whole batch (thousands of
// fsync'd writes take seconds).
func (r *Runtime[K, V]) serveRetires() {
	if r.retiring.Load() {
		r.retireQueued()
	}
}

// evictOverflow passivates least recently used idle actors until no more
// than MaxResident remain: as many as there are too many (see victims).
func (r *Runtime[K, V]) evictOverflow() {
	over := int(r.resident.Load()) - r.cfg.MaxResident
	if r.cfg.MaxResident <= 0 || over <= 0 {
		return
	}
	for _, v := range r.victims(over) {
		if r.closed.Load() {
			return // Shutdown passivates the rest, within its ctx
		}
		r.serveRetires()
		r.passivateUnused(v)
	}
}
