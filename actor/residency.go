package actor

// setLoaded makes v the state of a, whose turn the caller owns, and counts
// a as resident and most recently used.
func (r *Runtime[K, V]) setLoaded(a *actor[K, V], v V) {
	a.mu.Lock()
	a.value = v
	a.loaded = true
	a.fixSlow()
	a.mu.Unlock()
	r.lruMu.Lock()
	a.lastUsed.Store(r.now())
	r.lru.pushBack(a)
	r.lruMu.Unlock()
	if n := r.resident.Add(1); r.cfg.MaxResident > 0 && n > int64(r.cfg.MaxResident) {
		r.wake()
	}
}

// touch stamps a as used now, unless the turn that ends was stamped (see
// Turn.Stamp), moves it to the recent end of the list and counts the turn.
// An actor already at that end (a busy session served again and again) is
// stamped without the list's mutex, which would otherwise cost every turn a
// lock (about 20 ns, a tenth of a read-only Do; BenchmarkDo/read in
// engine).
func (r *Runtime[K, V]) touch(a *actor[K, V], stamped bool) {
	r.turns.Add(1)
	if r.lru.tail.Load() == a {
		if !stamped {
			a.lastUsed.Store(r.now())
		}
		return
	}
	r.lruMu.Lock()
	if !stamped {
		a.lastUsed.Store(r.now())
	}
	if a.listed {
		r.lru.moveToBack(a)
	}
	r.lruMu.Unlock()
}

// passivate runs the Passivate hook on a, whose turn the caller owns, and
// reports whether a left memory.
func (r *Runtime[K, V]) passivate(a *actor[K, V]) bool {
	if err := r.cfg.Passivate(a.key, a.value); err != nil {
		if !r.closed.Load() {
			r.report(a.key, err)
			return false // stay resident; retried on the next release or tick
		}
		r.mu.Lock()
		late := r.drained
		if !late {
			r.closeErrs = append(r.closeErrs, err)
		}
		r.mu.Unlock()
		if late {
			r.report(a.key, err)
		}
	}
	var zero V
	a.mu.Lock()
	a.value = zero
	a.loaded = false
	a.retire = false
	a.fixSlow() // before the turn is let go: no lock-free turn on an empty actor
	a.mu.Unlock()
	r.lruMu.Lock()
	r.lru.remove(a)
	r.lruMu.Unlock()
	r.resident.Add(-1)
	return true
}

// tryPassivate passivates a if nobody holds or waits for its turn and
// idle, checked once the runtime owns the turn, still holds. It reports
// whether a left memory.
func (r *Runtime[K, V]) tryPassivate(a *actor[K, V], idle func(*actor[K, V]) bool) bool {
	a.mu.Lock()
	a.fixSlow() // once Shutdown has begun, every release takes a.mu
	st := a.state.Load()
	if a.dead || !a.loaded || len(a.waiters) > 0 || st&stateHolders != 0 || !a.state.CompareAndSwap(st, st|stateExclusive) {
		a.mu.Unlock()
		return false
	}
	a.mu.Unlock()
	tried, done := idle(a), false
	if tried {
		done = r.passivate(a) // a failure is retried later, not at once
	}
	a.mu.Lock()
	if !tried && a.retire && len(a.waiters) == 0 {
		// A Retire that came while the runtime held the turn left the
		// work to this release: queue it. (With waiters, the next turn's
		// release sees a.retire.)
		r.enqueueRetire(a)
	}
	r.handOff(a)
	a.mu.Unlock()
	return done
}

// Retire asks the actor of key, if there is one, to passivate as soon as it
// is idle: at once if no turn is running, else when the current turn ends.
// It never blocks; the runtime's own goroutine does the work.
func (r *Runtime[K, V]) Retire(key K) {
	a := r.actors.load(key)
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dead {
		return
	}
	a.retire = true
	a.fixSlow()
	if a.state.Load()&stateHolders != 0 {
		return // the current turns' release (or tryPassivate's) will see it
	}
	r.enqueueRetire(a)
}

// enqueueRetire hands a, asked to retire, to the janitor, unless it is
// not loaded or queued already. a.mu must be held.
func (r *Runtime[K, V]) enqueueRetire(a *actor[K, V]) {
	if !a.loaded || a.queued {
		return
	}
	a.queued = true
	r.mu.Lock()
	r.retireQ = append(r.retireQ, a)
	r.retiring.Store(true)
	r.mu.Unlock()
	r.wake()
}

// Resident returns the number of actors whose state is loaded.
func (r *Runtime[K, V]) Resident() int { return int(r.resident.Load()) }

// Shed passivates up to n of the least recently used idle actors now, on
// the caller's goroutine, and returns how many left memory. Actors whose
// turn is held or waited for are skipped, so a caller that holds a turn may
// shed others (to free what their state holds, such as file descriptors).
func (r *Runtime[K, V]) Shed(n int) int {
	if n <= 0 {
		return 0
	}
	shed := 0
	for _, v := range r.victims(n) {
		if r.passivateUnused(v) {
			shed++
		}
	}
	return shed
}

// victim is an actor picked for passivation, with its lastUsed when it
// was picked.
type victim[K comparable, V any] struct {
	a    *actor[K, V]
	used int64
}

// victims picks up to n of the least recently used actors whose turn is
// neither held nor waited for, walking the list from its least recently
// used end: no scan of every actor, no sort.
func (r *Runtime[K, V]) victims(n int) []victim[K, V] {
	vs := make([]victim[K, V], 0, n)
	r.lruMu.Lock()
	for a := r.lru.front; a != nil && len(vs) < n; a = a.next {
		if a.state.Load()&stateHolders == 0 {
			vs = append(vs, victim[K, V]{a, a.lastUsed.Load()})
		}
	}
	r.lruMu.Unlock()
	return vs
}

// passivateUnused passivates v's actor unless a turn used it after it was
// picked; it reports whether the actor left memory.
func (r *Runtime[K, V]) passivateUnused(v victim[K, V]) bool {
	return r.tryPassivate(v.a, func(a *actor[K, V]) bool { return a.lastUsed.Load() == v.used })
}
