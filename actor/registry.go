package actor

import "sync"

// actorMap is a sync.Map of keys to their actors, typed: the assertions
// live here and nowhere else.
type actorMap[K comparable, V any] struct {
	m sync.Map // K -> *actor[K, V]
}

// load returns the actor of key, or nil.
func (m *actorMap[K, V]) load(key K) *actor[K, V] {
	v, ok := m.m.Load(key)
	if !ok {
		return nil
	}
	return v.(*actor[K, V])
}

// loadOrStore stores a under key unless key has an actor already. It
// returns the actor key has now (a, or the one found) and whether it
// stored a.
func (m *actorMap[K, V]) loadOrStore(key K, a *actor[K, V]) (actual *actor[K, V], stored bool) {
	v, loaded := m.m.LoadOrStore(key, a)
	return v.(*actor[K, V]), !loaded
}

// compareAndDelete removes key if its actor is a.
func (m *actorMap[K, V]) compareAndDelete(key K, a *actor[K, V]) {
	m.m.CompareAndDelete(key, a)
}

// rangeAll calls f for every actor in the map (see sync.Map.Range for what
// it sees of concurrent changes).
func (m *actorMap[K, V]) rangeAll(f func(*actor[K, V])) {
	m.m.Range(func(_, v any) bool {
		f(v.(*actor[K, V]))
		return true
	})
}
