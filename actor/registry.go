package actor

import (
	"sync"
	"sync/atomic"
)

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

// loadOrStore stores a under key unless key has an actor already, and
// reports whether it stored a.
func (m *actorMap[K, V]) loadOrStore(key K, a *actor[K, V]) (stored bool) {
	_, loaded := m.m.LoadOrStore(key, a)
	return !loaded
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

// lruList is an intrusive doubly linked list of loaded actors, least
// recently used at the front. Every operation is O(1) and allocates
// nothing. The Runtime's lruMu guards it and the links in the actors; tail
// mirrors back so that it can be read without the mutex.
type lruList[K comparable, V any] struct {
	front, back *actor[K, V]
	tail        atomic.Pointer[actor[K, V]]
}

func (l *lruList[K, V]) pushBack(a *actor[K, V]) {
	a.prev, a.next = l.back, nil
	if l.back != nil {
		l.back.next = a
	} else {
		l.front = a
	}
	l.back = a
	l.tail.Store(a)
	a.listed = true
}

func (l *lruList[K, V]) remove(a *actor[K, V]) {
	if !a.listed {
		return
	}
	if a.prev != nil {
		a.prev.next = a.next
	} else {
		l.front = a.next
	}
	if a.next != nil {
		a.next.prev = a.prev
	} else {
		l.back = a.prev
		l.tail.Store(a.prev)
	}
	a.prev, a.next = nil, nil
	a.listed = false
}

func (l *lruList[K, V]) moveToBack(a *actor[K, V]) {
	if l.back == a {
		return
	}
	l.remove(a)
	l.pushBack(a)
}
