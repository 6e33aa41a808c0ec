package persist_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// waitTry is one call of Wait's try: when it came (since Wait began) and
// whether it asked the holder to hand over.
type waitTry struct {
	at       time.Duration
	announce bool
}

func TestWaitPollsBackingOffAndAsksAgainAfterReannounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w persist.Waiters
		p := persist.Poll{Min: 2 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 2, Reannounce: 25 * time.Millisecond}
		start := time.Now()
		var tries []waitTry
		waited, err := w.Wait(t.Context(), "a", nil, p, func(_ context.Context, announce bool) (bool, error) {
			tries = append(tries, waitTry{time.Since(start), announce})
			return len(tries) == 7, nil
		})
		require.NoError(t, err)
		assert.True(t, waited, "waited after six tries that found the lock taken")
		ms := time.Millisecond
		want := []waitTry{{0, true}, {2 * ms, false}, {6 * ms, false}, {14 * ms, false}, {30 * ms, true}, {50 * ms, false}, {70 * ms, true}}
		assert.Equal(t, want, tries, "tries: got the first, want the second")
	})
}

func TestWaitRetriesAndAsksAgainOnAWakeUp(t *testing.T) {
	var w persist.Waiters
	p := persist.Poll{Min: time.Hour, Max: time.Hour, Factor: 1, Reannounce: time.Hour}
	var announces []bool
	waited, err := w.Wait(t.Context(), "a", nil, p, func(_ context.Context, announce bool) (bool, error) {
		announces = append(announces, announce)
		if len(announces) == 1 {
			w.Wake("b") // not its key: no retry
			w.Wake("a")
			return false, nil
		}
		return true, nil
	})
	require.NoError(t, err)
	assert.True(t, waited, "waited")
	assert.Equal(t, []bool{true, true}, announces, "announce of each try: got the first, want the second")
}

func TestWaitEndsWithTheErrorThatStopsIt(t *testing.T) {
	p := persist.Poll{Min: time.Hour, Max: time.Hour, Factor: 1, Reannounce: time.Hour}
	boom := errors.New("boom")

	t.Run("try fails", func(t *testing.T) {
		var w persist.Waiters
		waited, err := w.Wait(t.Context(), "a", nil, p, func(context.Context, bool) (bool, error) { return false, boom })
		assert.ErrorIs(t, err, boom)
		assert.False(t, waited, "waited after a first try that failed")
	})
	t.Run("ctx done", func(t *testing.T) {
		var w persist.Waiters
		ctx, cancel := context.WithCancel(t.Context())
		waited, err := w.Wait(ctx, "a", nil, p, func(context.Context, bool) (bool, error) {
			cancel()
			return false, nil
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.True(t, waited, "waited")
	})
	t.Run("store closed", func(t *testing.T) {
		var w persist.Waiters
		done := make(chan struct{})
		waited, err := w.Wait(t.Context(), "a", done, p, func(context.Context, bool) (bool, error) {
			close(done)
			return false, nil
		})
		assert.ErrorIs(t, err, persist.ErrClosed)
		assert.True(t, waited, "waited")
	})
}

// Notice passes on other instances' requests, not the instance's own,
// wakes the waiters of a released key, and ignores anything else.
func TestNotice(t *testing.T) {
	var w persist.Waiters
	var asked []string
	request := func(key string) { asked = append(asked, key) }
	for _, payload := range []string{"wk:me", "wk:other", "wj", "w", "", "xk"} {
		w.Notice(payload, "me", request)
	}
	assert.Equal(t, []string{"k", "j"}, asked, "got the requests passed on, want another's and one without a sender")

	wake := w.Add("k")
	defer w.Remove("k", wake)
	w.Notice("fk", "me", request)
	assert.True(t, woken(wake), "got no wake-up for a release, want one")
}
