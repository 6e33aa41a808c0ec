package redisstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHandOverRequestsOfItsOwnAreIgnored(t *testing.T) {
	s := &Store{id: "me"}
	asked := 0
	s.held.Begin("k")
	s.held.End("k", &lock{wanted: func() { asked++ }}, true)

	s.handle("wk:me")
	assert.Equal(t, 0, asked, "its own request, echoed by Redis")
	s.handle("wk:other")
	assert.Equal(t, 1, asked, "another Store's request")
	s.handle("wk")
	assert.Equal(t, 2, asked, "a request without a sender")
	s.handle("wx:other")
	s.handle("w")
	assert.Equal(t, 2, asked, "a request for a session not held here, a short message")

	wake := s.waiters.Add("k")
	s.handle("fk")
	select {
	case <-wake:
	default:
		t.Fatal("a release did not wake the waiter")
	}
}
