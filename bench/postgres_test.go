package main

import (
	"os"
	"slices"
	"strings"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

// postgresSkipped reports whether system s is a PostgreSQL one that this
// machine cannot run (no server installed): the suite skips it with a note.
func postgresSkipped(s string) bool {
	return testkit.PostgresBin() == "" && os.Getenv(postgresDSNEnv) == "" && (slices.Contains(postgresNames, s) || strings.HasPrefix(s, "pg-update"))
}
