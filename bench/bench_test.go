package main

import (
	"go.uber.org/goleak"

	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" { // a hand-over child re-executed by the smoke run
		os.Exit(childMain())
	}
	// scs.New always starts a memstore cleanup goroutine, which the suite
	// replaces with a store without one; the replaced store's goroutine
	// cannot be stopped reliably (StopCleanup races with its start). It is
	// scs's, not ours: every other goroutine must be gone.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
}

// TestSmoke runs every workload on every system once, as CI does, and
// checks the suite's invariants on the results.
func TestSmoke(t *testing.T) {
	var log strings.Builder
	rs, err := Run(context.Background(), smokeParams, &log)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log.String())
	}

	name := filepath.Join(t.TempDir(), "results.json")
	if err := rs.WriteJSON(name); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("JSON output: %v", err)
	}
	present := map[[2]string]bool{}
	for _, r := range got {
		for _, k := range []string{"workload", "system", "metric", "value", "unit"} {
			if _, ok := r[k]; !ok {
				t.Errorf("result %v has no %q", r, k)
			}
		}
		w, _ := r["workload"].(string)
		s, _ := r["system"].(string)
		present[[2]string{w, s}] = true
	}
	for _, wl := range workloads {
		for _, s := range wl.systems {
			if !present[[2]string{wl.name, s}] && !redisSkipped(s) && !postgresSkipped(s) {
				t.Errorf("no results for workload %s on system %s", wl.name, s)
			}
		}
	}

	for _, s := range []string{"lockstep", "lockstep-memory"} {
		if lost, ok := rs.Lookup("lost-updates", s, "lost"); !ok || lost != 0 {
			t.Errorf("lost-updates on %s: lost = %v (found %v), want 0", s, lost, ok)
		}
		if lost, ok := rs.Lookup("lost-updates", s, "lost-keys"); !ok || lost != 0 {
			t.Errorf("lost-updates on %s: lost-keys = %v (found %v), want 0", s, lost, ok)
		}
		final, ok1 := rs.Lookup("contended-5x30", s, "final-counter")
		want, ok2 := rs.Lookup("contended-5x30", s, "expected-counter")
		if !ok1 || !ok2 || final != want || want != float64(1+smokeParams.Clients*smokeParams.Requests) {
			t.Errorf("contended-5x30 on %s: final counter %v, want %v", s, final, want)
		}
	}

	var out strings.Builder
	Report(&out, rs)
	for _, wl := range workloads {
		if !strings.Contains(out.String(), "### "+wl.name+"\n") {
			t.Errorf("report has no table for %s", wl.name)
		}
	}
	checkSVG(t, Chart(Targets(rs)))
	checkSVG(t, SystemsChart(rs))
	for _, tg := range Targets(rs) {
		if tg.Measured == "" && !strings.HasPrefix(tg.What, "Redis store") && !strings.HasPrefix(tg.What, "Postgres store") && !strings.HasPrefix(tg.What, "memory per resident session at 100k") {
			t.Errorf("target %q not measured by the smoke run", tg.What)
		}
	}
}

// redisSkipped reports whether system s is a Redis one that this machine
// cannot run (no redis-server): the suite skips it with a note.
func redisSkipped(s string) bool {
	_, err := exec.LookPath("redis-server")
	return err != nil && os.Getenv(redisAddrEnv) == "" && (slices.Contains(redisNames, s) || slices.Contains(redisWaitNames, s) || s == "redis-set")
}

// checkSVG checks that s is well-formed XML with an svg root.
func checkSVG(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("chart root element = %q, want svg", root)
	}
}

func TestChartMarksTargets(t *testing.T) {
	rs := &Results{}
	rs.Add("do-read", "lockstep", "serial", 100, "ns/op")
	rs.Add("do-read", "mutex-map", "serial", 20, "ns/op")
	rs.Add("handover", "lockstep", "median", 3, "ms")
	ts := Targets(rs)
	byWhat := map[string]Target{}
	for _, tg := range ts {
		byWhat[tg.What] = tg
	}
	if tg := byWhat["Do, resident session, read-only, vs sync.Mutex + map"]; !tg.Met || tg.Score != 0.5 {
		t.Errorf("do-read target: met %v score %v, want met with score 0.5", tg.Met, tg.Score)
	}
	if tg := byWhat["cross-process hand-over of an idle session, median"]; tg.Met || tg.Score != 1.5 {
		t.Errorf("handover target: met %v score %v, want not met with score 1.5", tg.Met, tg.Score)
	}
	svg := Chart(ts)
	checkSVG(t, svg)
	if got := strings.Count(svg, `fill="#c62828"`); got != 1 {
		t.Errorf("chart has %d red bars, want 1", got)
	}
}

// TestTargetsSecondRound checks the second round's targets on made-up
// results: a difference within its bound is met, one outside is not, and
// a system that did not run (Redis without a redis-server) is not measured.
func TestTargetsSecondRound(t *testing.T) {
	rs := &Results{}
	rs.Add("do-write", "lockstep", "serial", 4000, "ns/op")
	rs.Add("do-write", "lockstep-memory", "serial", 1000, "ns/op")
	rs.Add("commit-sync", "lockstep-sync", "vs-floor", 1.6, "x")
	rs.Add("contended-5x30", "lockstep", "vs-memory", -0.003, "x")
	rs.Add("http-write", "lockstep", "many-sessions", 9000, "req/s")
	rs.Add("http-write", "gorilla-filesystem", "many-sessions", 4000, "req/s")
	rs.Add("activation", "lockstep", "vs-cherrypy", 0.8, "x")
	byWhat := map[string]Target{}
	for _, tg := range Targets(rs) {
		byWhat[tg.What] = tg
	}
	for _, tc := range []struct {
		what          string
		met, measured bool
	}{
		{"commit (OnCommit), vs the same Do on lockstep-memory", true, true},
		{"commit, OnCommitSync, vs a bare pwrite + fdatasync alongside", false, true},
		{"5 x 30, file store: floor ratio added to lockstep-memory's", true, true},
		{"HTTP writes, many sessions, file store, vs gorilla-filesystem", false, true},
		{"activation, lockstep, vs one cherrypy-style-1ms request", true, true},
		{"Redis store: a write Do vs a bare SET of the same bytes", false, false},
		{"Redis store: 5 x 30, floor ratio added to lockstep-memory's", false, false},
		{"Redis store: lost updates, vs scs-redisstore", false, false},
	} {
		tg, ok := byWhat[tc.what]
		if !ok {
			t.Errorf("no target %q", tc.what)
			continue
		}
		if tg.Met != tc.met || (tg.Measured != "") != tc.measured {
			t.Errorf("%s: met %v, measured %q; want met %v, measured %v", tc.what, tg.Met, tg.Measured, tc.met, tc.measured)
		}
	}
	var out strings.Builder
	WriteTargets(&out, Targets(rs))
	if !strings.Contains(out.String(), "| not measured |") {
		t.Errorf("targets table has no \"not measured\" row:\n%s", out.String())
	}
}

// TestSystemsChart checks that the systems chart draws lockstep's bars in
// their own colour, a row for every system that ran, and "not measured"
// where a system ran in some workloads only.
func TestSystemsChart(t *testing.T) {
	rs := &Results{}
	for _, r := range []struct {
		system string
		rps    float64
		lost   float64
	}{{"lockstep", 9000, 0}, {"scs-memstore", 20000, 49}, {"lockstep-redis", 0, 0}} {
		if r.rps > 0 {
			rs.Add("http-write", r.system, "many-sessions", r.rps, "req/s")
		}
		rs.Add("lost-updates", r.system, "requests", 50, "count")
		rs.Add("lost-updates", r.system, "lost", r.lost, "count")
	}
	rs.Add("contended-5x30", "scs-memstore", "floor-ratio", 0.2, "x")
	rs.Add("contended-5x30", "scs-memstore", "final-counter", 31, "count")
	rs.Add("contended-5x30", "scs-memstore", "expected-counter", 151, "count")
	svg := SystemsChart(rs)
	checkSVG(t, svg)
	for _, want := range []string{">lockstep<", ">scs-memstore<", ">lockstep-redis<", "not measured", "not serialised: 0.20x, lost 120", "9.00k", "20.0k"} {
		if !strings.Contains(svg, want) {
			t.Errorf("systems chart has no %q", want)
		}
	}
	if strings.Contains(svg, ">mutex-map<") {
		t.Errorf("systems chart has a row for mutex-map, which did not run")
	}
	// lockstep: one bar per panel it has a value > 0 in (http-write); scs: http-write and lost-updates.
	if got := strings.Count(svg, `fill="#1565c0"`); got != 1 {
		t.Errorf("chart has %d lockstep-coloured bars, want 1", got)
	}
	if got := strings.Count(svg, `fill="#9e9e9e"`); got != 2 {
		t.Errorf("chart has %d peer-coloured bars, want 2", got)
	}
}

// TestOverhead checks that overhead averages the gaps between one work and
// the next, leaving out the largest 5% (here the one preempted gap of 21).
func TestOverhead(t *testing.T) {
	t0 := time.Unix(0, 0)
	var spans []workSpan
	at := t0
	for i := range 21 {
		gap := 10 * time.Microsecond
		if i == 7 {
			gap = 50 * time.Millisecond
		}
		at = at.Add(gap)
		spans = append(spans, workSpan{start: at, end: at.Add(time.Millisecond)})
		at = at.Add(time.Millisecond)
	}
	// Shuffled: overhead orders the spans by start.
	spans[3], spans[11] = spans[11], spans[3]
	if got := overhead(spans); got != 10 {
		t.Errorf("overhead = %v µs, want 10", got)
	}
	if got := overhead(spans[:1]); got != 0 {
		t.Errorf("overhead of one span = %v, want 0", got)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0, 1}, {1, 10}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// BenchmarkDo is do-read and do-write as ordinary Go benchmarks, for
// comparing two versions of the library with benchstat:
//
//	go -C bench test -run '^$' -bench Do -count 10 . > new.txt
func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	for _, name := range mainSystems {
		sys := systemByName(name)
		for _, write := range []bool{false, true} {
			opName := "read"
			if write {
				opName = "write"
			}
			b.Run(name+"/"+opName, func(b *testing.B) {
				inst, err := sys.Open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer inst.Close()
				id, err := inst.Create(ctx)
				if err != nil {
					b.Fatal(err)
				}
				op := inst.Read
				if write {
					op = inst.Write
				}
				b.Run("serial", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if err := op(ctx, id); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("parallel", func(b *testing.B) {
					b.ReportAllocs()
					b.SetParallelism(4)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := op(ctx, id); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			})
		}
	}
}
