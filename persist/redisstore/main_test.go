package redisstore_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	if !haveRedis() && os.Getenv(requireRedisEnv) != "1" {
		fmt.Fprintln(os.Stderr, "redisstore: no redis-server on PATH, so the Redis store's tests are skipped "+
			"(install redis-server, or set "+requireRedisEnv+"=1 to make this an error)")
	}
	goleak.VerifyTestMain(m)
}
