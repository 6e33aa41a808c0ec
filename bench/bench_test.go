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
			if !present[[2]string{wl.name, s}] && !redisSkipped(s) {
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
}

// redisSkipped reports whether system s is a Redis one that this machine
// cannot run (no redis-server): the suite skips it with a note.
func redisSkipped(s string) bool {
	_, err := exec.LookPath("redis-server")
	return err != nil && os.Getenv(redisAddrEnv) == "" && (slices.Contains(redisNames, s) || s == "redis-set")
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
