package main

import (
	"context"
	"os"
	"path/filepath"
)

// onCommitSystems are the systems commit measures: lockstep's default
// (OnCommit) commit and its floor.
var onCommitSystems = []string{"lockstep", "bare-stat-open-pwrite-close"}

// commitSystems are the systems commit-sync measures.
var commitSystems = []string{"lockstep-sync", "bare-pwrite-fdatasync"}

// runCommit measures what the file store adds to a commit: a write Do on a
// resident session of lockstep (OnCommit: the in-place write of one slot
// into the page cache) less the same Do on lockstep-memory, against its
// floor, bare-stat-open-pwrite-close: a stat, then open, pwrite of the
// bytes of a lockstep record file over itself, and close, the system calls
// a commit cannot do without. The three are measured in alternation
// (Repeats rounds, the fastest of each kept); above-memory is the
// difference of the first two and vs-floor its ratio to the floor.
func runCommit(ctx context.Context, e *env, name string) error {
	floor, cleanup, err := recordWriteCycle(true, false)
	if err != nil {
		return err
	}
	defer cleanup()
	if name == "bare-stat-open-pwrite-close" {
		r, err := e.benchCycle(floor)
		if err != nil {
			return err
		}
		e.rs.Add("commit", name, "commit", nsPerOp(r), "ns/op")
		return nil
	}
	write, done, err := e.residentWrite(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	memory, memDone, err := e.residentWrite(ctx, "lockstep-memory")
	if err != nil {
		return err
	}
	defer memDone()
	rs, err := e.fastestAlongside(write, memory, floor)
	if err != nil {
		return err
	}
	c, m, f := nsPerOp(rs[0]), nsPerOp(rs[1]), nsPerOp(rs[2])
	e.rs.Add("commit", name, "commit", c, "ns/op")
	e.rs.Add("commit", name, "memory-alongside", m, "ns/op")
	e.rs.Add("commit", name, "floor-alongside", f, "ns/op")
	e.rs.Add("commit", name, "above-memory", c-m, "ns/op")
	e.rs.Add("commit", name, "vs-floor", (c-m)/f, "x")
	return nil
}

// runCommitSync measures what a commit costs with OnCommitSync: a write Do
// on a resident session of lockstep-sync (the in-place write of one slot
// plus one fdatasync), against its floor, bare-pwrite-fdatasync: pwrite of
// the bytes of a lockstep record file over itself, on a descriptor that
// stays open, plus fdatasync. The disk's speed drifts within seconds, so
// lockstep is measured in alternation with the floor (Repeats rounds, the
// fastest of each kept), and the ratio of the two is recorded as vs-floor.
func runCommitSync(ctx context.Context, e *env, name string) error {
	floor, cleanup, err := recordWriteCycle(false, true)
	if err != nil {
		return err
	}
	defer cleanup()
	if name == "bare-pwrite-fdatasync" {
		r, err := e.benchCycle(floor)
		if err != nil {
			return err
		}
		e.rs.Add("commit-sync", name, "commit", nsPerOp(r), "ns/op")
		e.rs.Add("commit-sync", name, "allocs", float64(r.AllocsPerOp()), "allocs/op")
		return nil
	}
	write, done, err := e.residentWrite(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	rs, err := e.fastestAlongside(write, floor)
	if err != nil {
		return err
	}
	best, bestFloor := rs[0], rs[1]
	e.rs.Add("commit-sync", name, "commit", nsPerOp(best), "ns/op")
	e.rs.Add("commit-sync", name, "allocs", float64(best.AllocsPerOp()), "allocs/op")
	e.rs.Add("commit-sync", name, "floor-alongside", nsPerOp(bestFloor), "ns/op")
	e.rs.Add("commit-sync", name, "vs-floor", nsPerOp(best)/nsPerOp(bestFloor), "x")
	return nil
}

// residentWrite opens the system called name, creates a session, makes it
// resident, and returns a cycle that is one write request on it; done
// closes the instance.
func (e *env) residentWrite(ctx context.Context, name string) (cycle func(int) error, done func(), err error) {
	inst, _, id, done, err := e.session(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if err := inst.Write(ctx, id); err != nil {
		done()
		return nil, nil, err
	}
	return func(int) error { return inst.Write(ctx, id) }, done, nil
}

// recordWriteCycle returns a floor of a commit: pwrite of a lockstep record
// file's bytes over the file at offset 0, and with sync fdatasync. With
// reopen each cycle stats the file, opens it, writes and closes it, as a
// commit of the file store must; without, the descriptor stays open.
// cleanup closes and removes the file.
func recordWriteCycle(reopen, sync bool) (cycle func(int) error, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "lockstep-bench-")
	if err != nil {
		return nil, nil, err
	}
	rec, err := lockstepRecord(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	path := filepath.Join(dir, "record")
	if err := os.WriteFile(path, rec, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	write := func(f *os.File) error {
		if _, err := f.WriteAt(rec, 0); err != nil {
			return err
		}
		if sync {
			return datasync(f)
		}
		return nil
	}
	if reopen {
		return func(int) error {
			if _, err := os.Stat(path); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			if err := write(f); err != nil {
				_ = f.Close()
				return err
			}
			return f.Close()
		}, func() { _ = os.RemoveAll(dir) }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	return func(int) error { return write(f) }, func() {
		_ = f.Close()
		_ = os.RemoveAll(dir)
	}, nil
}
