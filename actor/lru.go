package actor

import "sync/atomic"

// lruList is an intrusive doubly linked list of loaded actors, least
// recently used at the front. Every operation is O(1) and allocates
// nothing. The Runtime's lruMu guards it and the links in the actors; tail
// mirrors back so that it can be read without the mutex.
type lruList[K comparable, V any] struct {
	front, back *actor[K, V]
	tail        atomic.Pointer[actor[K, V]]
}

// pushBack appends a, which must not be listed, at the most recently used
// end.
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

// remove takes a out of the list; an actor not listed is left alone.
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

// moveToBack moves a, which must be listed, to the most recently used end.
func (l *lruList[K, V]) moveToBack(a *actor[K, V]) {
	if l.back == a {
		return
	}
	l.remove(a)
	l.pushBack(a)
}
