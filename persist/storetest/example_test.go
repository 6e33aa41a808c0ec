package storetest_test

import (
	"testing"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
	"github.com/lockstep-go/lockstep/persist/storetest"
)

// A store's test runs the whole contract on fresh stores. This is how
// lockstep tests its own file store; a third-party store does the same with
// its constructor.
func ExampleRun() {
	var t *testing.T // the *testing.T of a TestXxx function

	storetest.Run(t, func(t *testing.T) persist.Store {
		d, err := filestore.Open(t.TempDir(), filestore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return d // Run closes it
	}, storetest.HandsOver())
}
