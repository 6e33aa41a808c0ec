package persist_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newID returns a new session ID.
func newID() string { return testkit.NewID() }
