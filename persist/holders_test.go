package persist_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lockstep-go/lockstep/persist"
)

// holderLock stands for a store's Lock.
type holderLock struct{ name string }

func TestHoldersKeepTheHolderAndSendRequestsToIt(t *testing.T) {
	var h persist.Holders[*holderLock]
	a, b := &holderLock{"a"}, &holderLock{"b"}

	assert.Nil(t, h.Begin("k"), "Begin of a session nobody holds")
	assert.False(t, h.End("k", a, true), "End of a take nobody asked for")
	assert.Equal(t, a, h.Holder("k"), "holder after a's take")
	assert.Equal(t, a, h.Begin("k"), "Begin of a session a holds: got another holder, want a")
	assert.Equal(t, a, h.Request("k"), "Request of a session a holds")
	assert.Nil(t, h.Request("other"), "Request of a session nobody holds")
	assert.Equal(t, []*holderLock{a}, h.Locks(), "Locks")

	h.Forget("k", b) // not the holder: nothing happens
	assert.Equal(t, a, h.Holder("k"), "holder after b's Forget")
	h.Forget("k", a)
	assert.Nil(t, h.Holder("k"), "holder after a's Forget")
	assert.Equal(t, 0, h.Len(), "Len after the only holder's Forget")
}

func TestHoldersKeepARequestForTheLockBeingTaken(t *testing.T) {
	var h persist.Holders[*holderLock]
	a, b := &holderLock{"a"}, &holderLock{"b"}

	assert.Nil(t, h.Begin("k"), "a's Begin")
	assert.Nil(t, h.Begin("k"), "b's Begin, while a takes")
	assert.Nil(t, h.Request("k"), "Request while the lease is being taken: got a holder, want none")
	assert.False(t, h.End("k", b, false), "End of b's failed take: got asked, want the request kept for the holder")
	assert.True(t, h.End("k", a, true), "End of a's take: got not asked, want the request made while it took")
	assert.Equal(t, a, h.Holder("k"), "holder")

	assert.Nil(t, h.Begin("j"), "Begin of j")
	assert.False(t, h.End("j", a, false), "End of a failed take of j")
	assert.Equal(t, 1, h.Len(), "Len after a failed take that nobody else made: got j kept, want it dropped")
}

func TestHoldersForgetKeepsATakeGoingOn(t *testing.T) {
	var h persist.Holders[*holderLock]
	a, b := &holderLock{"a"}, &holderLock{"b"}
	h.Begin("k")
	h.Begin("k") // b's, while a takes
	h.End("k", a, true)

	h.Forget("k", a)
	assert.Nil(t, h.Holder("k"), "holder after a's Forget")
	assert.Nil(t, h.Request("k"), "Request while b takes")
	assert.Equal(t, 1, h.Len(), "Len while b takes: got the take dropped, want it kept")
	assert.True(t, h.End("k", b, true), "End of b's take: got not asked, want the request made while it took")
	assert.Equal(t, b, h.Holder("k"), "holder")
}
