package main

import (
	"context"
	"os"
	"path/filepath"
)

// commitSystems are the systems commit-sync measures.
var commitSystems = []string{"lockstep-sync", "bare-pwrite-fdatasync"}

// runCommitSync measures what a commit costs with OnCommitSync: a write Do
// on a resident session of lockstep-sync (the in-place write of one slot
// plus one fdatasync), against its floor, bare-pwrite-fdatasync: pwrite of
// the bytes of a lockstep record file over itself, on a descriptor that
// stays open, plus fdatasync. The disk's speed drifts within seconds, so
// lockstep is measured in alternation with the floor (Repeats rounds, the
// fastest of each kept), and the ratio of the two is recorded as vs-floor.
func runCommitSync(ctx context.Context, e *env, name string) error {
	floor, cleanup, err := pwriteFdatasyncCycle()
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
	inst, _, id, done, err := e.session(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	if err := inst.Write(ctx, id); err != nil { // make it resident
		return err
	}
	commit := func(int) error { return inst.Write(ctx, id) }
	rs, err := e.fastestAlongside(commit, floor)
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

// pwriteFdatasyncCycle returns the floor of an OnCommitSync commit: pwrite
// of a lockstep record file's bytes over the file at offset 0, on a
// descriptor that stays open, and fdatasync; cleanup closes and removes it.
func pwriteFdatasyncCycle() (cycle func(int) error, cleanup func(), err error) {
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
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	cleanup = func() {
		_ = f.Close()
		_ = os.RemoveAll(dir)
	}
	return func(int) error {
		if _, err := f.WriteAt(rec, 0); err != nil {
			return err
		}
		return datasync(f)
	}, cleanup, nil
}
