package cli

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/lockstep-go/lockstep/persist/filestore"
)

// Dir returns the Backend of cmd/lockstep: a session directory, named by -dir,
// opened as a filestore.Store that syncs deletions (an operator's rm or revoke
// is durable when it returns). The directory must exist: a mistyped path
// is an error, not a new empty directory.
func Dir() Backend {
	return Backend{
		Synopsis: "-dir DIR",
		Flags: func(fs *flag.FlagSet) func(*slog.Logger) (Store, error) {
			dir := fs.String("dir", "", "the session directory (required)")
			return func(log *slog.Logger) (Store, error) {
				if *dir == "" {
					return nil, Usagef("-dir DIR is required")
				}
				fi, err := os.Stat(*dir)
				if err != nil {
					return nil, fmt.Errorf("-dir: %w", err)
				}
				if !fi.IsDir() {
					return nil, fmt.Errorf("-dir %s: not a directory", *dir)
				}
				return filestore.Open(*dir, filestore.Config{Logger: log, SyncDeletes: true})
			}
		},
	}
}
