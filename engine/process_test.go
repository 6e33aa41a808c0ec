//go:build unix

package engine_test

import (
	"context"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/internal/testkit"
)

// Cross-process tests re-execute the test binary in a child role (see
// internal/testkit), so that the processes are real: separate flock
// owners, separate watchers, a real kill -9. They rely on Unix flock
// semantics, hence the build tag.

// child starts the test binary in role on session id of dir, with env
// added; it is killed when t ends if it is still running.
func child(t *testing.T, role, dir, id string, env ...string) *testkit.Child {
	t.Helper()
	return testkit.StartT(t, role, append([]string{"LOCKSTEP_DIR=" + dir, "LOCKSTEP_ID=" + id}, env...)...)
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
		c := child(t, "increment", dir, id, "LOCKSTEP_N="+strconv.Itoa(each), "LOCKSTEP_MARKER="+marker)
		wg.Go(func() { assert.NoError(t, c.Wait()) })
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
		c := child(t, "once", dir, id)
		us, err := strconv.Atoi(c.Line(t))
		require.NoError(t, err)
		require.NoError(t, c.Wait())
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
		c := child(t, "ack", dir, id)
		acked := 0
		target := 20 + rng.IntN(200)
		for range target {
			acked, _ = strconv.Atoi(c.Line(t))
		}
		require.NoError(t, c.Kill())
		for { // acknowledged before the kill landed
			line, err := c.ReadLine()
			if err != nil {
				break
			}
			acked, _ = strconv.Atoi(line)
		}
		var exit *exec.ExitError
		require.ErrorAs(t, c.Wait(), &exit, "round %d: the child was not killed", round)

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
	c := child(t, "increment", dir, id, "LOCKSTEP_N=20", "LOCKSTEP_MARKER="+filepath.Join(t.TempDir(), "inside"),
		"LOCKSTEP_LOCK_TIMEOUT=5s")
	err := c.Wait()
	close(stop)
	wg.Wait()
	require.NoError(t, err, "the other process did not get its turns")
}

// Guarantee 32 (docs/architecture.md): a session that is only read keeps
// its expiry current in the store, so a kill -9 never expires a session
// used within IdleTimeout. The child reads the session for longer than
// IdleTimeout (2 s), never writing, and is killed; the session must still
// be alive for this process. Before, the stored expiry moved only on writes
// and passivation, and the session was gone.
func TestKill9ReadOnlyKeepsExpiry(t *testing.T) {
	const idle = 2 * time.Second
	dir := t.TempDir()
	e := openDir(t, dir, engine.Config{IdleTimeout: idle, SweepInterval: -1})
	id := mustCreate(t, e)
	set(t, e, id, "n", 7)
	require.NoError(t, e.Close())

	c := child(t, "read", dir, id, "LOCKSTEP_IDLE="+idle.String())
	for start := time.Now(); time.Since(start) < idle+idle/2; {
		require.Equal(t, "ok", c.Line(t))
	}
	require.NoError(t, c.Kill())
	var exit *exec.ExitError
	require.ErrorAs(t, c.Wait(), &exit, "the child was not killed")

	e2 := openDir(t, dir, engine.Config{IdleTimeout: idle, SweepInterval: -1})
	err := e2.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		n, _ := engine.Get[int](s, "n")
		assert.Equal(t, 7, n)
		return nil
	})
	require.NoError(t, err, "a session read less than IdleTimeout ago expired after a crash")
}
