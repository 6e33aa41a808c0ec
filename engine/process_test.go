package engine_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/engine"
)

// Cross-process tests re-execute the test binary in a child role, so that
// the processes are real: separate flock owners, separate watchers.

const childRoleEnv = "LOCKSTEP_ENGINE_CHILD"

// runChild runs a child role and returns the exit code.
func runChild(role string) int {
	dir, id := os.Getenv("LOCKSTEP_DIR"), os.Getenv("LOCKSTEP_ID")
	n, _ := strconv.Atoi(os.Getenv("LOCKSTEP_N"))
	lockTimeout := time.Minute
	if d, err := time.ParseDuration(os.Getenv("LOCKSTEP_LOCK_TIMEOUT")); err == nil {
		lockTimeout = d
	}
	eng, err := engine.Open(dir, engine.Config{LockTimeout: lockTimeout, SweepInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	defer eng.Close()
	ctx := context.Background()
	switch role {
	case "increment":
		// n increments; each turn proves it is alone with a marker file
		// outside the session directory.
		marker := os.Getenv("LOCKSTEP_MARKER")
		for range n {
			err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
				f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
				if err != nil {
					return fmt.Errorf("two processes inside one session: %w", err)
				}
				f.Close()
				defer os.Remove(marker)
				v, _ := s.Get("n")
				c, _ := v.(int)
				s.Set("n", c+1)
				return nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, "do:", err)
				return 1
			}
		}
	case "ack":
		// Increment forever, printing each acknowledged value, until killed.
		out := bufio.NewWriter(os.Stdout)
		for {
			var c int
			err := eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
				v, _ := s.Get("n")
				c, _ = v.(int)
				c++
				s.Set("n", c)
				s.Set("pad", strings.Repeat("x", 1000+c%4000)) // records of varying size
				return nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, "do:", err)
				return 1
			}
			fmt.Fprintln(out, c)
			out.Flush()
		}
	case "once":
		// One read-only turn, timed; prints the duration in microseconds.
		start := time.Now()
		err := eng.Do(ctx, id, func(context.Context, *engine.Session) error { return nil })
		if err != nil {
			fmt.Fprintln(os.Stderr, "do:", err)
			return 1
		}
		fmt.Println(time.Since(start).Microseconds())
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 2
	}
	return 0
}

func child(t *testing.T, role, dir, id string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"="+role, "LOCKSTEP_DIR="+dir, "LOCKSTEP_ID="+id)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

func openDir(t *testing.T, dir string, cfg engine.Config) *engine.Engine {
	t.Helper()
	e, err := engine.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// 4 processes x 150 increments on one session end at exactly 600, and no two
// processes are ever inside the session at once.
func TestProcessesIncrement(t *testing.T) {
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{})
	id := mustCreate(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "inside")
	const procs, each = 4, 150
	var wg sync.WaitGroup
	for range procs {
		cmd := child(t, "increment", dir, id, "LOCKSTEP_N="+strconv.Itoa(each), "LOCKSTEP_MARKER="+marker)
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("child: %v\n%s", err, out)
			}
		})
	}
	wg.Wait()
	e2 := openDir(t, dir, engine.Config{})
	if got := get(t, e2, id, "n"); got != procs*each {
		t.Fatalf("counter = %v, want %d", got, procs*each)
	}
}

// An idle holder hands the session over when another process asks: the
// child's Do succeeds although this process would keep the session resident
// for an hour.
func TestProcessHandover(t *testing.T) {
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{PassivateAfter: time.Hour, LockTimeout: time.Minute})
	id := mustCreate(t, e)
	var micros []int
	for range 5 {
		set(t, e, id, "k", 1) // resident and locked here again
		if e.Stats().Active != 1 {
			t.Fatalf("Active = %d, want 1", e.Stats().Active)
		}
		out, err := child(t, "once", dir, id).Output()
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		us, _ := strconv.Atoi(strings.TrimSpace(string(out)))
		micros = append(micros, us)
	}
	slices.Sort(micros)
	t.Logf("hand-over as seen by the child's Do (µs): median %d, worst %d", micros[len(micros)/2], micros[len(micros)-1])
}

// A process killed with SIGKILL at random moments leaves no lock held and no
// torn record, and loses no increment it acknowledged.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{SweepInterval: -1})
	id := mustCreate(t, e)
	e.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	for round := range 6 {
		cmd := child(t, "ack", dir, id)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := 0
		lines := bufio.NewScanner(stdout)
		target := 20 + rng.IntN(200)
		for i := 0; i < target && lines.Scan(); i++ {
			acked, _ = strconv.Atoi(lines.Text())
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() { // acknowledged before the kill landed
			acked, _ = strconv.Atoi(lines.Text())
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("round %d: child ended with %v, want killed; stderr:\n%s", round, err, stderr.String())
		}

		e := openDir(t, dir, engine.Config{SweepInterval: -1, LockTimeout: 5 * time.Second})
		got, _ := get(t, e, id, "n").(int)
		if got < acked || got > acked+1 {
			t.Fatalf("round %d: counter %d after kill, acknowledged %d", round, got, acked)
		}
		e.Close()
	}
}

// A process that wants a session gets it although the holder has a steady
// stream of local turns on it: the holder hands over after its current turn
// and its own waiters queue behind the other process, not ahead of it.
func TestProcessHandoverUnderLocalLoad(t *testing.T) {
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{LockTimeout: time.Minute})
	id := mustCreate(t, e)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := increment(context.Background(), e, id); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	cmd := child(t, "increment", dir, id, "LOCKSTEP_N=20", "LOCKSTEP_MARKER="+filepath.Join(t.TempDir(), "inside"),
		"LOCKSTEP_LOCK_TIMEOUT=5s")
	out, err := cmd.CombinedOutput()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("the other process did not get its turns: %v\n%s", err, out)
	}
}
