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
	if !strings.HasPrefix(out.String(), "### Summary\n") {
		t.Errorf("report does not start with the summary:\n%s", out.String())
	}
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
	rs.Add("do-read", "lockstep", "serial", 50, "ns/op")
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
	rs.Add("commit", "lockstep", "above-memory", 3000, "ns/op")
	rs.Add("commit", "lockstep", "vs-floor", 1.2, "x")
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
		{"commit (OnCommit) above lockstep-memory's, vs a bare stat + open + pwrite + close alongside", true, true},
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
	if strings.Contains(out.String(), "Redis store") || !strings.Contains(out.String(), "more targets need workloads") {
		t.Errorf("targets table: got\n%s\nwant the measured targets only, and a count of the others", out.String())
	}
}

// TestSummary checks the summary on made-up results: a workload and
// systems known only by registration get a row, peers that lose updates
// are not the best peer, floors are not peers, and targets count in the
// rows of the workloads they were evaluated from.
func TestSummary(t *testing.T) {
	saved := workloads
	t.Cleanup(func() { workloads = saved })
	workloads = append(slices.Clone(workloads), workload{"made-up", []string{"lockstep-x", "peer-a", "peer-b", "bare-floor"}, nil})

	rs := &Results{}
	rs.Add("made-up", "lockstep-x", "rate", 900, "req/s")
	rs.Add("made-up", "peer-a", "rate", 300, "req/s")
	rs.Add("made-up", "peer-b", "rate", 2000, "req/s")
	rs.Add("made-up", "bare-floor", "rate", 1800, "req/s")
	rs.Add("lost-updates", "peer-b", "lost", 7, "count")
	rs.Add("do-read", "lockstep", "serial", 100, "ns/op")
	rs.Add("do-read", "mutex-map", "serial", 20, "ns/op")
	rs.Add("do-read", "scs-memstore", "serial", 2500, "ns/op")

	ts := Targets(rs)
	rows := map[string]summaryRow{}
	for _, r := range Summary(rs, ts) {
		rows[r.workload] = r
	}
	if len(rows) != 2 {
		t.Fatalf("got rows %v, want do-read and made-up", rows)
	}
	r := rows["made-up"]
	if r.lockstep.system != "lockstep-x" || r.peer.system != "peer-a" || r.floor.system != "bare-floor" {
		t.Errorf("made-up: got lockstep %q, peer %q, floor %q; want lockstep-x, peer-a, bare-floor", r.lockstep.system, r.peer.system, r.floor.system)
	}
	if len(r.lossy) != 1 || r.lossy[0].system != "peer-b" {
		t.Errorf("made-up: got lossy %v, want peer-b", r.lossy)
	}
	if got, want := r.verdict(), "ahead 3x"; got != want {
		t.Errorf("made-up verdict: got %q, want %q", got, want)
	}
	if got := r.floorCost; got != 2 {
		t.Errorf("made-up cost over the floor: got %v, want 2", got)
	}
	r = rows["do-read"]
	if got, want := r.verdict(), "no peer keeps every update; 2 targets met"; got != want {
		t.Errorf("do-read verdict: got %q, want %q (scs-memstore loses updates; the targets against mutex-map and scs)", got, want)
	}

	var out strings.Builder
	WriteSummary(&out, Summary(rs, ts))
	for _, want := range []string{"| made-up ", "peer-a 300 req/s", "(losing updates: peer-b 2000 req/s)", "mutex-map 20 ns (5x)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary has no %q:\n%s", want, out.String())
		}
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

// TestReportOnly checks the report of a run of one workload (-only
// do-read): a summary row and targets for it alone, no target that was not
// measured, and its table.
func TestReportOnly(t *testing.T) {
	rs := &Results{}
	rs.Add("do-read", "lockstep", "serial", 100, "ns/op")
	rs.Add("do-read", "lockstep", "serial-allocs", 1, "allocs/op")
	rs.Add("do-read", "mutex-map", "serial", 20, "ns/op")
	var out strings.Builder
	Report(&out, rs)
	got := out.String()
	for _, want := range []string{"### Summary\n", "| do-read ", "### Targets\n", "| same, allocations ", "### do-read\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("report has no %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"not measured", "| do-write ", "vs scs-memstore", "### do-write"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("report has %q, want only what was measured:\n%s", unwanted, got)
		}
	}
}
