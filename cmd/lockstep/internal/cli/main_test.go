package cli_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

func TestMain(m *testing.M) {
	if role := testkit.Role(); role == "cli" {
		os.Exit(runCLI())
	} else if role != "" {
		if err := runChild(role); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
