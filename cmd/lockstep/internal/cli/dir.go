package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/lockstep-go/lockstep/persist/filestore"
)

// Dir returns the Backend of a session directory, -dir DIR, opened as a
// filestore.Store that syncs deletions (an operator's rm or revoke is
// durable when it returns). The directory must exist: a mistyped path is
// an error, not a new empty directory.
func Dir() Backend {
	return Backend{
		Name:  "dir",
		Arg:   "DIR",
		Usage: "the session directory of engine.Open or filestore.Open",
		Flags: func(*flag.FlagSet) Opener {
			return func(_ context.Context, dir string, log *slog.Logger) (Store, error) {
				fi, err := os.Stat(dir)
				switch {
				case errors.Is(err, fs.ErrNotExist):
					return nil, fmt.Errorf("-dir %s: no such directory", dir)
				case err != nil:
					return nil, fmt.Errorf("-dir: %w", err)
				case !fi.IsDir():
					return nil, fmt.Errorf("-dir %s: not a directory", dir)
				}
				return filestore.Open(dir, filestore.Config{Logger: log, SyncDeletes: true})
			}
		},
	}
}
