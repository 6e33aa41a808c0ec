package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"
)

// Params sizes a run.
type Params struct {
	Mode            string        // "full", "quick" or "smoke"
	BenchTime       string        // -test.benchtime for testing.Benchmark: "1s", "100ms", "1x"
	Repeats         int           // testing.Benchmark runs per number; the fastest is kept
	HTTPClients     int           // concurrent keep-alive connections in http-read and http-write
	HTTPRequests    int           // at most this many requests per HTTP measurement
	HTTPTime        time.Duration // and for at most this long
	ManySessions    int           // sessions in the many-sessions HTTP measurements
	Clients         int           // contended: concurrent clients
	Requests        int           // contended: requests per client
	ContendedRounds int           // contended: rounds, of which medians are reported
	Work            time.Duration // contended and lost-updates: the handler's work between read and write
	LostN           int           // lost-updates: concurrent requests
	Rounds          int           // handover: idle hand-overs in each direction
	Holds           int           // handover: hand-overs of a busy session (for the waiter's CPU time)
	Hold            time.Duration // handover: how long the holder keeps a busy session
	MemorySizes     []int         // memory-per-session: numbers of resident sessions
	FileMemory      int           // memory-per-session: largest size measured with the file store

	Only    []string // workloads to run; nil means all
	Systems []string // systems to run; nil means all
}

var fullParams = Params{
	Mode: "full", BenchTime: "1s", Repeats: 3,
	HTTPClients: 8, HTTPRequests: 20000, HTTPTime: 3 * time.Second, ManySessions: 1000,
	Clients: 5, Requests: 30, ContendedRounds: 5, Work: 10 * time.Millisecond, LostN: 50,
	Rounds: 200, Holds: 10, Hold: 100 * time.Millisecond,
	MemorySizes: []int{10_000, 100_000}, FileMemory: 10_000,
}

var quickParams = Params{
	Mode: "quick", BenchTime: "50ms", Repeats: 1,
	HTTPClients: 8, HTTPRequests: 3000, HTTPTime: 300 * time.Millisecond, ManySessions: 200,
	Clients: 5, Requests: 30, ContendedRounds: 3, Work: 10 * time.Millisecond, LostN: 50,
	Rounds: 30, Holds: 3, Hold: 100 * time.Millisecond,
	MemorySizes: []int{10_000, 100_000}, FileMemory: 10_000,
}

var smokeParams = Params{
	Mode: "smoke", BenchTime: "1x", Repeats: 1,
	HTTPClients: 2, HTTPRequests: 4, HTTPTime: time.Second, ManySessions: 4,
	Clients: 5, Requests: 2, ContendedRounds: 2, Work: time.Millisecond, LostN: 5,
	Rounds: 2, Holds: 1, Hold: 20 * time.Millisecond,
	MemorySizes: []int{100}, FileMemory: 100,
}

// A workload is one measurement, run once per system it applies to.
type workload struct {
	name    string
	systems []string // the systems it applies to, in table order
	run     func(ctx context.Context, e *env, system string) error
}

// The systems the in-process and HTTP workloads compare.
var mainSystems = []string{
	"lockstep", "lockstep-memory", "mutex-map", "scs-memstore",
	"gorilla-filesystem", "cherrypy-style-1ms", "cherrypy-style-100ms",
}

var workloads = []workload{
	{"do-read", mainSystems, runDo(false)},
	{"do-write", slices.Concat(mainSystems, []string{"lockstep-onpassivate"}, redisNames, redisWaitNames, []string{"redis-set"}, postgresNames, []string{"pg-update", "pg-update-prepared"}), runDo(true)},
	{"http-read", slices.Concat(mainSystems, redisNames, postgresNames), runHTTP("/read")},
	{"http-write", slices.Concat(mainSystems, redisNames, redisWaitNames, postgresNames), runHTTP("/write")},
	{"contended-5x30", slices.Concat(mainSystems, []string{"lockstep-onpassivate"}, redisNames, redisWaitNames, postgresNames), runContended},
	{"lost-updates", slices.Concat(mainSystems, redisNames, postgresNames), runLostUpdates},
	{"handover", slices.Concat([]string{"lockstep", "cherrypy-style-1ms", "cherrypy-style-100ms", "poll-10ms"}, redisNames, []string{"lockstep-postgres"}), runHandover},
	{"memory-per-session", []string{"lockstep-memory", "lockstep", "mutex-map", "scs-memstore"}, runMemory},
	{"activation", activationSystems, runActivation},
	{"commit-sync", commitSystems, runCommitSync},
	{"view-read", viewReadSystems, runView},
	{"ajax-burst", ajaxSystems, runAjaxBurst},
	{"do-observer", observerNames, runDoObserver},
}

// systemByName returns the system called name, or nil.
func systemByName(name string) System {
	for _, s := range allSystems() {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// peerSystems are the systems that are not lockstep.
func peerSystems() []System {
	return []System{
		mutexMap{},
		scsMemstore{},
		gorillaFilesystem{},
		cherrypyStyle{"cherrypy-style-1ms", time.Millisecond},
		cherrypyStyle{"cherrypy-style-100ms", 100 * time.Millisecond},
		// The reference a waiting process's CPU time is compared with.
		cherrypyStyle{"poll-10ms", 10 * time.Millisecond},
	}
}

func allSystems() []System {
	return slices.Concat(lockstepSystems(), peerSystems(), redisSystems(), viewSystems(), observerSystems(), postgresSystems())
}

// env is what workloads share during a run.
type env struct {
	p   Params
	rs  *Results
	log io.Writer
}

// open opens the system called name, like openSystem.
func (e *env) open(name string) (Instance, string, func(), error) {
	sys, err := e.system(name)
	if err != nil {
		return nil, "", nil, err
	}
	return e.openSystem(sys)
}

// session opens the system called name (like open) and creates a session
// in it; done closes the instance.
func (e *env) session(ctx context.Context, name string) (inst Instance, dir, id string, done func(), err error) {
	sys, err := e.system(name)
	if err != nil {
		return nil, "", "", nil, err
	}
	inst, dir, ids, done, err := e.sessions(ctx, sys, 1)
	if err != nil {
		return nil, "", "", nil, err
	}
	return inst, dir, ids[0], done, nil
}

// sessions opens sys (like openSystem) and creates n sessions in it; done
// closes the instance.
func (e *env) sessions(ctx context.Context, sys System, n int) (Instance, string, []string, func(), error) {
	inst, dir, done, err := e.openSystem(sys)
	if err != nil {
		return nil, "", nil, nil, err
	}
	ids := make([]string, n)
	for i := range ids {
		if ids[i], err = inst.Create(ctx); err != nil {
			done()
			return nil, "", nil, nil, err
		}
	}
	return inst, dir, ids, done, nil
}

// openSystem opens sys on a fresh temp directory; the returned func closes the
// instance and removes the directory.
func (e *env) openSystem(sys System) (Instance, string, func(), error) {
	dir, err := os.MkdirTemp("", "lockstep-bench-")
	if err != nil {
		return nil, "", nil, err
	}
	inst, err := sys.Open(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", nil, fmt.Errorf("open %s: %w", sys.Name(), err)
	}
	return inst, dir, func() {
		if err := inst.Close(); err != nil {
			fmt.Fprintf(e.log, "bench: close %s: %v\n", sys.Name(), err)
		}
		_ = os.RemoveAll(dir)
	}, nil
}

// Run runs every selected workload on every system it applies to and
// returns the results. A failing pair is reported and the run goes on; the
// returned error joins every failure.
func Run(ctx context.Context, p Params, log io.Writer) (*Results, error) {
	testing.Init()
	if err := flag.CommandLine.Set("test.benchtime", p.BenchTime); err != nil {
		return nil, err
	}
	e := &env{p: p, rs: &Results{}, log: log}
	if needsRedis(p) {
		defer startRedis(log)()
	}
	if needsPostgres(p) {
		defer startPostgres(log)()
	}
	var errs []error
	for _, wl := range workloads {
		if p.Only != nil && !slices.Contains(p.Only, wl.name) {
			continue
		}
		for _, name := range wl.systems {
			if p.Systems != nil && !slices.Contains(p.Systems, name) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return e.rs, err
			}
			start := time.Now()
			fmt.Fprintf(log, "%-20s %-22s ", wl.name, name)
			err := wl.run(ctx, e, name)
			fmt.Fprintf(log, "%6.2fs", time.Since(start).Seconds())
			if errors.Is(err, errSkip) {
				fmt.Fprintf(log, "  %v", err)
				err = nil
			}
			if err != nil {
				err = fmt.Errorf("%s on %s: %w", wl.name, name, err)
				fmt.Fprintf(log, "  FAILED: %v", err)
				errs = append(errs, err)
			}
			fmt.Fprintln(log)
		}
	}
	return e.rs, errors.Join(errs...)
}

// errUnknownSystem is returned for a system this build does not have.
var errUnknownSystem = errors.New("unknown system")

// system returns the system called name.
func (e *env) system(name string) (System, error) {
	if s := systemByName(name); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w %q", errUnknownSystem, name)
}
