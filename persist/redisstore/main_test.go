package redisstore_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/lockstep-go/lockstep/internal/testkit"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	switch role := testkit.Role(); {
	case role != "":
		os.Exit(runChild(role)) // a child process of the cross-process tests
	case !testkit.HaveRedis() && os.Getenv(testkit.RequireRedisEnv) != "1":
		fmt.Fprintln(os.Stderr, "redisstore: no redis-server on PATH, so the Redis store's tests are skipped "+
			"(install redis-server, or set "+testkit.RequireRedisEnv+"=1 to make this an error)")
	}
	goleak.VerifyTestMain(m)
}
