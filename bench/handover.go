package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

// The hand-over child is this same binary, re-executed (by
// internal/testkit) with these variables set; main (or TestMain) runs
// childMain instead of the suite.
const (
	childEnv    = "LOCKSTEP_BENCH_CHILD" // the system's name
	childDirEnv = "LOCKSTEP_BENCH_DIR"   // the session directory
	childIDEnv  = "LOCKSTEP_BENCH_ID"    // the session
)

// childMain serves the parent's commands on stdin, one a line, answering on
// stdout: "write" does one Write on the session and answers with the
// nanoseconds it took and the CPU nanoseconds the process used meanwhile.
func childMain() int {
	sys := systemByName(os.Getenv(childEnv))
	if sys == nil {
		fmt.Fprintln(os.Stderr, "bench child: unknown system", os.Getenv(childEnv))
		return 2
	}
	inst, err := sys.Open(os.Getenv(childDirEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	defer inst.Close()
	id := os.Getenv(childIDEnv)
	in := bufio.NewScanner(childStdin())
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	_ = out.Flush()
	for in.Scan() {
		switch in.Text() {
		case "write":
			cpu0, t0 := cpuTime(), time.Now()
			err := inst.Write(context.Background(), id)
			wall, cpu := time.Since(t0), cpuTime()-cpu0
			if err != nil {
				fmt.Fprintln(out, "error", err)
			} else {
				fmt.Fprintln(out, wall.Nanoseconds(), cpu)
			}
			_ = out.Flush()
		case "quit":
			return 0
		}
	}
	return 0
}

// child is the parent's handle on a hand-over child process.
type child struct{ *testkit.Child }

func startChild(system, dir, id string) (*child, error) {
	c, err := testkit.Start("handover", childEnv+"="+system, childDirEnv+"="+dir, childIDEnv+"="+id)
	if err != nil {
		return nil, err
	}
	ch := &child{c}
	if line, err := c.ReadLine(); err != nil || line != "ready" {
		ch.stop()
		return nil, fmt.Errorf("child did not start: %q %v; stderr:\n%s", line, err, c.Stderr())
	}
	return ch, nil
}

// write asks the child for one Write and returns its wall and CPU time.
func (c *child) write() (wall, cpu time.Duration, err error) {
	if err := c.Send("write"); err != nil {
		return 0, 0, err
	}
	line, err := c.ReadLine()
	if err != nil {
		return 0, 0, err
	}
	var w, u int64
	if _, err := fmt.Sscan(line, &w, &u); err != nil {
		return 0, 0, fmt.Errorf("child: %s", line)
	}
	return time.Duration(w), time.Duration(u), nil
}

// stop ends the child and waits for it, killing it if it has not ended
// after 10 s.
func (c *child) stop() {
	_ = c.Send("quit")
	_ = c.Stop(10 * time.Second)
}

// runHandover alternates two processes (this one and a child) on one
// session. Idle hand-over: the session was last used by the other process,
// which is idle; the latency of one Write is measured in the process that
// takes it, Rounds times in each direction. Busy hand-over: this process
// holds the session in a request for Hold while the child's Write waits;
// the CPU time the child burns during that wait (waiter-cpu) is compared
// with what the poll-10ms reference (CherryPy's loop with a 10 ms sleep)
// burns; both are medians over Holds waits. taker-cpu is the child's median
// CPU time for an idle hand-over.
func runHandover(ctx context.Context, e *env, name string) error {
	inst, dir, id, done, err := e.session(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	if err := inst.Write(ctx, id); err != nil {
		return err
	}
	ch, err := startChild(name, dir, id)
	if err != nil {
		return err
	}
	defer ch.stop()

	var lat, idleCPU []time.Duration
	for range e.p.Rounds {
		wall, cpu, err := ch.write()
		if err != nil {
			return err
		}
		lat = append(lat, wall)
		idleCPU = append(idleCPU, cpu)
		t0 := time.Now()
		if err := inst.Write(ctx, id); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
	}

	var waitCPU, waitWall []time.Duration
	for range e.p.Holds {
		holding := make(chan struct{})
		held := make(chan error, 1)
		go func() {
			held <- inst.Update(ctx, id, func(v Values) error {
				close(holding)
				time.Sleep(e.p.Hold)
				v.Set(counterKey, counter(v)+1)
				return nil
			})
		}()
		select {
		case <-holding:
		case err := <-held:
			return err
		}
		wall, cpu, err := ch.write()
		if err != nil {
			return err
		}
		if err := <-held; err != nil {
			return err
		}
		waitCPU = append(waitCPU, cpu)
		waitWall = append(waitWall, wall)
		if err := inst.Write(ctx, id); err != nil { // take it back, idle
			return err
		}
	}
	if e.p.Holds == 0 {
		return errors.New("no holds")
	}

	for _, d := range [][]time.Duration{lat, idleCPU, waitCPU, waitWall} {
		slices.Sort(d)
	}
	e.rs.Add("handover", name, "median", ms(percentile(lat, 0.5)), "ms")
	e.rs.Add("handover", name, "p99", ms(percentile(lat, 0.99)), "ms")
	e.rs.Add("handover", name, "taker-cpu", float64(percentile(idleCPU, 0.5).Microseconds()), "µs/handover")
	e.rs.Add("handover", name, "busy-wait", ms(percentile(waitWall, 0.5)), "ms")
	e.rs.Add("handover", name, "waiter-cpu", float64(percentile(waitCPU, 0.5).Microseconds()), "µs/handover")
	return nil
}

// percentile returns the p-th quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
