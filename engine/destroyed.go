package engine

import (
	"sync"
	"sync/atomic"

	"github.com/lockstep-go/lockstep/persist"
)

// destroyedKept is how many destroyed sessions an Engine remembers for
// [Engine.DestroyedSince]: about 20 KiB.
const destroyedKept = 256

// destroyedLog remembers the store keys of the sessions an Engine
// destroyed last, numbered in order.
type destroyedLog struct {
	n    atomic.Uint64 // sessions destroyed so far; written under mu
	mu   sync.Mutex    // guards keys
	keys [destroyedKept]string
}

func (l *destroyedLog) add(key string) {
	l.mu.Lock()
	n := l.n.Load()
	l.keys[n%destroyedKept] = key
	l.n.Store(n + 1)
	l.mu.Unlock()
}

// Destroyed returns how many sessions this engine has destroyed (by
// Destroy or DestroyOwner) since it was opened: a mark for
// [Engine.DestroyedSince]. It is one atomic load.
func (e *Engine) Destroyed() uint64 { return e.destroyed.n.Load() }

// DestroyedSince reports whether this engine destroyed session id (by
// Destroy or DestroyOwner) after mark, a value that [Engine.Destroyed]
// returned. It answers from memory, without a turn: known is false if more
// sessions were destroyed since mark than the engine remembers (256), or
// if mark is from the future. Sessions destroyed by other processes are
// not seen. An adapter that learns a session's ID at the start of a
// request uses it to tell whether a call the handler made without the
// session's turn (DestroyOwner, say) destroyed it.
func (e *Engine) DestroyedSince(id string, mark uint64) (destroyed, known bool) {
	l := &e.destroyed
	if l.n.Load() == mark {
		return false, true
	}
	key := persist.Key(id)
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.n.Load()
	if mark > n || n-mark > destroyedKept {
		return false, false
	}
	for i := mark; i < n; i++ {
		if l.keys[i%destroyedKept] == key {
			return true, true
		}
	}
	return false, true
}
