package persist_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/persist"
)

// Child processes are this test binary re-executed with childEnv naming
// their role; their parameters come in the other env variables below.
const (
	childEnv       = "LOCKSTEP_PERSIST_CHILD"
	childDirEnv    = "LOCKSTEP_PERSIST_DIR"
	childIDsEnv    = "LOCKSTEP_PERSIST_IDS"    // comma-separated session IDs
	childNEnv      = "LOCKSTEP_PERSIST_N"      // iterations
	childMarkerEnv = "LOCKSTEP_PERSIST_MARKER" // directory for critical-section markers
	childDeleteEnv = "LOCKSTEP_PERSIST_DELETE" // delete the session every this many iterations
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
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
	d, err := persist.OpenDir(os.Getenv(childDirEnv), persist.DirConfig{})
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

func incrTurn(ctx context.Context, d *persist.Dir, id, markers string, idx int, del bool) error {
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

// child is a running child process.
type child struct {
	cmd    *exec.Cmd
	stdout *bufio.Scanner
	stdin  io.WriteCloser
	stderr *strings.Builder
}

// startChild re-executes the test binary in role with env added.
func startChild(t *testing.T, role, dir string, ids []string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, childDirEnv+"="+dir, childIDsEnv+"="+strings.Join(ids, ","))
	cmd.Env = append(cmd.Env, env...)
	c := &child{cmd: cmd, stderr: new(strings.Builder)}
	cmd.Stderr = c.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdout = bufio.NewScanner(out)
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return c
}

// line reads the child's next line of output.
func (c *child) line(t *testing.T) string {
	t.Helper()
	if !c.stdout.Scan() {
		t.Fatalf("child ended early: %v; stderr: %s", c.stdout.Err(), c.stderr)
	}
	return c.stdout.Text()
}

// wait waits for the child and fails the test if it did not succeed.
func (c *child) wait(t *testing.T) {
	t.Helper()
	_ = c.stdin.Close()
	for c.stdout.Scan() {
	}
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("child %v: %v; stderr: %s", c.cmd.Env[len(os.Environ()):], err, c.stderr)
	}
}

// newID returns a session ID as the engine makes them.
func newID() string {
	var b [32]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// keyOf is the file-name key of a session ID.
func keyOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func openDir(t *testing.T, dir string) *persist.Dir {
	t.Helper()
	d, err := persist.OpenDir(dir, persist.DirConfig{})
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
