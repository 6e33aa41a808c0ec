package main

import (
	"context"
	"fmt"
	"runtime"
)

// maxResidenter is implemented by systems with a cap on resident sessions;
// memory-per-session raises it above the number of sessions it creates.
type maxResidenter interface {
	WithMaxResident(n int) System
}

// runMemory measures the heap bytes per resident session: the live heap
// after creating n sessions and doing one Read on each, minus the live heap
// before, over n. The IDs are part of it (every system keeps them).
func runMemory(ctx context.Context, e *env, name string) error {
	for _, n := range e.p.MemorySizes {
		sys, err := e.system(name)
		if err != nil {
			return err
		}
		if m, ok := sys.(maxResidenter); ok {
			if n > e.p.FileMemory && sys.Name() == "lockstep" {
				continue // each resident file-backed session holds an open file
			}
			sys = m.WithMaxResident(n + n/10)
		}
		perSession, err := memoryPerSession(ctx, e, sys, n)
		if err != nil {
			return err
		}
		e.rs.Add("memory-per-session", name, sizeLabel(n), perSession, "B/session")
	}
	return nil
}

func memoryPerSession(ctx context.Context, e *env, sys System, n int) (float64, error) {
	inst, _, done, err := e.openSystem(sys)
	if err != nil {
		return 0, err
	}
	defer done()
	ids := make([]string, 0, n)
	before := liveHeap()
	for range n {
		id, err := inst.Create(ctx)
		if err != nil {
			return 0, err
		}
		if err := inst.Read(ctx, id); err != nil {
			return 0, err
		}
		ids = append(ids, id)
	}
	after := liveHeap()
	runtime.KeepAlive(ids)
	runtime.KeepAlive(inst)
	return float64(after-before) / float64(n), nil
}

// liveHeap returns HeapAlloc after two collections.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// sizeLabel names a session count: "at-10k", or "at-100" below a thousand.
func sizeLabel(n int) string {
	if n%1000 == 0 {
		return fmt.Sprintf("at-%dk", n/1000)
	}
	return fmt.Sprintf("at-%d", n)
}
