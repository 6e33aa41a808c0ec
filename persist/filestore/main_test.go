package filestore_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// Child processes are this test binary re-executed in a role (see
// internal/testkit); their parameters come in these env variables.
const (
	childDirEnv    = "LOCKSTEP_FILESTORE_DIR"
	childIDsEnv    = "LOCKSTEP_FILESTORE_IDS"    // comma-separated session IDs
	childNEnv      = "LOCKSTEP_FILESTORE_N"      // iterations
	childMarkerEnv = "LOCKSTEP_FILESTORE_MARKER" // directory for critical-section markers
	childDeleteEnv = "LOCKSTEP_FILESTORE_DELETE" // delete the session every this many iterations
)

func TestMain(m *testing.M) {
	if role := testkit.Role(); role != "" {
		if err := runChild(role); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// runChild plays one role in a cross-process test.
func runChild(role string) error {
	if role == "exhausted" {
		return runExhausted(os.Getenv(childDirEnv), strings.Split(os.Getenv(childIDsEnv), ","))
	}
	d, err := filestore.Open(os.Getenv(childDirEnv), filestore.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	ids := strings.Split(os.Getenv(childIDsEnv), ",")
	n, _ := strconv.Atoi(os.Getenv(childNEnv))
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	switch role {
	case "incr":
		// n turns, each on a random one of ids: lock, check that nobody
		// else is inside (marker), load, increment, save (or delete), release.
		markers := os.Getenv(childMarkerEnv)
		delEvery, _ := strconv.Atoi(os.Getenv(childDeleteEnv))
		for i := range n {
			idx := rand.IntN(len(ids))
			if err := incrTurn(ctx, d, ids[idx], markers, idx, delEvery > 0 && i%delEvery == delEvery-1); err != nil {
				return err
			}
		}
		return nil
	case "crash":
		// Increment forever, acknowledging each saved value on stdout,
		// until killed.
		for {
			l, err := d.Lock(ctx, ids[0], nil)
			if err != nil {
				return err
			}
			v, err := loadCounter(l)
			if err != nil {
				return err
			}
			if err := saveCounter(l, v+1, false); err != nil {
				return err
			}
			fmt.Fprintf(out, "ack %d\n", v+1)
			out.Flush()
			if err := l.Release(); err != nil {
				return err
			}
		}
	case "holder":
		// For each id: lock it, say so, hold it until asked to hand it
		// over, release.
		for _, id := range ids {
			wanted := make(chan struct{}, 1)
			l, err := d.Lock(ctx, id, func() {
				select {
				case wanted <- struct{}{}:
				default:
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "held")
			out.Flush()
			<-wanted
			if err := l.Release(); err != nil {
				return err
			}
		}
		return nil
	case "hold":
		// Lock ids[0], say so, and hold it until stdin is closed.
		l, err := d.Lock(ctx, ids[0], nil)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "held")
		out.Flush()
		_, _ = io.Copy(io.Discard, os.Stdin)
		return l.Release()
	}
	return fmt.Errorf("unknown role %q", role)
}

func incrTurn(ctx context.Context, d *filestore.Store, id, markers string, idx int, del bool) error {
	l, err := d.Lock(ctx, id, nil)
	if err != nil {
		return err
	}
	var marker string
	if markers != "" {
		marker = filepath.Join(markers, "inside-"+strconv.Itoa(idx))
		f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("two processes inside session %d: %w", idx, err)
		}
		f.Close()
	}
	v, err := loadCounter(l)
	if err != nil {
		return err
	}
	if marker != "" {
		if err := os.Remove(marker); err != nil {
			return err
		}
	}
	if del {
		return l.Delete()
	}
	if err := saveCounter(l, v+1, false); err != nil {
		return err
	}
	return l.Release()
}

func loadCounter(l persist.Lock) (uint64, error) {
	rec, err := l.Load()
	if errors.Is(err, persist.ErrNotFound) && !errors.Is(err, persist.ErrCorrupt) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(rec.Data) != 8 {
		return 0, fmt.Errorf("counter record of %d bytes", len(rec.Data))
	}
	return binary.BigEndian.Uint64(rec.Data), nil
}

func saveCounter(l persist.Lock, v uint64, sync bool) error {
	now := time.Now()
	return l.Save(persist.Record{Created: now, Expires: now.Add(time.Hour), Data: binary.BigEndian.AppendUint64(nil, v)}, sync)
}

// startChild re-executes the test binary in role on dir and ids, with env
// added; the child is killed when t ends if it is still running.
func startChild(t *testing.T, role, dir string, ids []string, env ...string) *testkit.Child {
	t.Helper()
	return testkit.StartT(t, role, append([]string{childDirEnv + "=" + dir, childIDsEnv + "=" + strings.Join(ids, ",")}, env...)...)
}

// newID returns a session ID as the engine makes them.
func newID() string { return testkit.NewID() }

// keyOf is the file-name key of a session ID.
func keyOf(id string) string { return testkit.Key(id) }

func openDir(t *testing.T, dir string) *filestore.Store {
	t.Helper()
	d, err := filestore.Open(dir, filestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}
