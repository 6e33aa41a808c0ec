package redisstore_test

import (
	"context"
	"testing"

	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
)

// server is a private redis-server (internal/testkit), stopped when the
// test ends, with the go-redis helpers of these tests.
type server struct{ *testkit.Redis }

// startRedis starts a private redis-server, or skips the test when there is
// none (fails when LOCKSTEP_REQUIRE_REDIS=1).
func startRedis(t testing.TB) *server { return &server{testkit.StartRedis(t)} }

// client returns a client of s, closed when the test ends (after the
// stores made with it, whose cleanups run first).
func (s *server) client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// store returns a Store over a new client of s, closed when the test ends.
func (s *server) store(t testing.TB, cfg redisstore.Config) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(s.client(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// count returns the number of keys on s.
func (s *server) count(t testing.TB, c *redis.Client) int {
	t.Helper()
	n, err := c.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
