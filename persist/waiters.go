package persist

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Waiters is a helper for Store implementations: it keeps the callers of one
// store that wait for a session's lock, by key, and wakes them when the lock
// may be free (the file, Redis and PostgreSQL stores use it alike). A woken
// caller tries the lock again; a wake-up is a hint, never a grant. A typical
// Lock registers with Add before its first retry, waits on the channel (and
// its own poll timer and ctx), and calls Remove when it stops waiting; the
// code that releases a lock calls Wake.
//
// The zero value is ready to use; nothing in it needs closing. All methods
// are safe for concurrent use, and all but Wait never block.
type Waiters struct {
	mu    sync.Mutex                 // guards byKey
	byKey map[string][]chan struct{} // each of capacity 1
}

// Add registers a waiter for key and returns the channel that wakes it. It
// has capacity 1: one pending wake-up is enough, so Wake never blocks. The
// caller must Remove it when it stops waiting.
func (w *Waiters) Add(key string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byKey == nil {
		w.byKey = make(map[string][]chan struct{})
	}
	w.byKey[key] = append(w.byKey[key], ch)
	return ch
}

// Remove unregisters the waiter ch of key.
func (w *Waiters) Remove(key string, ch <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ws := w.byKey[key]
	for i, x := range ws {
		if x == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(w.byKey, key)
	} else {
		w.byKey[key] = ws
	}
}

// Wake wakes the waiters of key. The channels are collected under the
// mutex and sent to after it is unlocked: a waiter removed in between gets
// a token it never reads, which is harmless (its channel is dropped).
func (w *Waiters) Wake(key string) {
	w.mu.Lock()
	chs := append([]chan struct{}(nil), w.byKey[key]...)
	w.mu.Unlock()
	for _, ch := range chs {
		notify(ch)
	}
}

// Notice acts on one hand-over message that the instances of a shared
// store send each other: "w<key>:<from>" asks the holder of key to let
// it go, and is passed to request unless from is self (an instance hears
// its own requests, and taking one for another's would hand a lease over
// the moment it was taken); "f<key>" says key was let go, and wakes its
// waiters here. Anything else is ignored. The Redis and PostgreSQL stores
// send these messages over pub/sub and LISTEN/NOTIFY.
func (w *Waiters) Notice(payload, self string, request func(key string)) {
	if len(payload) < 2 {
		return
	}
	key := payload[1:]
	switch payload[0] {
	case 'w':
		key, from, _ := strings.Cut(key, ":")
		if from != self {
			request(key)
		}
	case 'f':
		w.Wake(key)
	}
}

// WakeAll wakes every waiter, of every key, as Wake does.
func (w *Waiters) WakeAll() {
	w.mu.Lock()
	var chs []chan struct{}
	for _, ws := range w.byKey {
		chs = append(chs, ws...)
	}
	w.mu.Unlock()
	for _, ch := range chs {
		notify(ch)
	}
}

// notify leaves a token in ch unless one is pending already.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Poll says how a waiting Lock retries when no wake-up arrives (Waiters.Wait):
// the first retry comes Min after the first try, each next one Factor times
// later than the one before, up to Max; a retry asks the holder to hand over
// again once Reannounce has passed since it last asked.
type Poll struct {
	Min, Max   time.Duration // the first and the longest pause; Min > 0
	Factor     int           // the growth of the pause; at least 1
	Reannounce time.Duration // how long a request to hand over stands
}

// Wait is the wait of a Store's Lock for the session of key: it calls try
// until try reports that the lock is taken, registered as a waiter of key
// meanwhile. Between tries it waits for a wake-up (Wake or WakeAll of key),
// for the next poll of p, for ctx or for done (the Store's Close). try's
// announce is true on the first try, after a wake-up and once
// p.Reannounce has passed since the last try that had it: then a try that
// finds the lock taken asks its holder to hand over.
//
// Wait returns whether a try found the lock taken (the Lock waited), and the
// error that ended it: try's own, ctx.Err(), or ErrClosed once done is
// closed. The caller wraps them as it likes.
func (w *Waiters) Wait(ctx context.Context, key string, done <-chan struct{}, p Poll,
	try func(ctx context.Context, announce bool) (bool, error)) (waited bool, err error) {
	wake := w.Add(key)
	defer w.Remove(key, wake)

	pause := p.Min
	var timer *time.Timer // made at the first wait: most Locks take at once
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	announce := true
	var announced time.Time
	for {
		ok, err := try(ctx, announce)
		if err != nil || ok {
			return waited, err
		}
		if !waited {
			timer = time.NewTimer(pause)
		}
		waited = true
		if announce {
			announced = time.Now()
		}
		select {
		case <-ctx.Done():
			return waited, ctx.Err()
		case <-done:
			return waited, ErrClosed
		case <-wake:
			// The holder released (or the store's channel came back): try
			// now, and ask again if the lock is still taken.
			announce = true
		case <-timer.C:
			pause = min(time.Duration(p.Factor)*pause, p.Max)
			timer.Reset(pause)
			announce = time.Since(announced) >= p.Reannounce
		}
	}
}
