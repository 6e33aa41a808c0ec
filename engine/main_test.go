package engine_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

func TestMain(m *testing.M) {
	if role := testkit.Role(); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}
