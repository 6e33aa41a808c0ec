package persist_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lockstep-go/lockstep/persist"
)

// woken reports whether ch holds a wake-up, taking it.
func woken(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestWakeWakesTheWaitersOfItsKeyOnce(t *testing.T) {
	var w persist.Waiters
	a1, a2, b := w.Add("a"), w.Add("a"), w.Add("b")
	w.Wake("a")
	w.Wake("a") // a pending wake-up is enough: no block, no second token
	assert.True(t, woken(a1), "first waiter of a")
	assert.True(t, woken(a2), "second waiter of a")
	assert.False(t, woken(a1), "first waiter of a, woken twice: got a second token, want one")
	assert.False(t, woken(b), "waiter of b after Wake(a)")
	w.Wake("nobody") // no waiters: nothing happens
}

func TestRemovedWaiterIsNotWoken(t *testing.T) {
	var w persist.Waiters
	a1, a2 := w.Add("a"), w.Add("a")
	w.Remove("a", a1)
	w.WakeAll()
	assert.False(t, woken(a1), "removed waiter")
	assert.True(t, woken(a2), "remaining waiter")
	w.Remove("a", a2)
	w.Remove("a", a2) // removing twice is harmless
	w.WakeAll()
	assert.False(t, woken(a2), "waiter removed before WakeAll")
}

func TestWakeAllWakesEveryKey(t *testing.T) {
	var w persist.Waiters
	a, b := w.Add("a"), w.Add("b")
	w.WakeAll()
	assert.True(t, woken(a), "waiter of a")
	assert.True(t, woken(b), "waiter of b")
}
