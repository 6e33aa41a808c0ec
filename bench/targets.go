package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
)

// A Target is one line of the targets table (docs/benchmarks.md), checked
// against a run.
type Target struct {
	What     string  // what is measured
	Want     string  // the target, as docs/benchmarks.md states it
	Measured string  // the measured value, with its inputs
	Score    float64 // measured over target, oriented so that ≤ 1 is met; 0 if not measured
	Met      bool
	Chart    bool // whether the chart shows it (pass/fail lines are not drawn)
	// Workloads and Systems are those whose results the target was
	// evaluated from, for the summary.
	Workloads, Systems []string
}

// Targets evaluates the targets of docs/benchmarks.md against rs: the
// first round's, then the second round's (the file store's write path,
// then the Redis store). A target whose measurement is missing (a workload
// or system not run, the Redis systems without a redis-server) reads "not
// measured", which is not a failure.
//
// Each target's Workloads and Systems are those looked up in rs between
// the previous target's addition and its own.
func Targets(rs *Results) []Target {
	var ts targetList
	var workloads, systems []string
	done := 0
	attribute := func() {
		if len(ts) == done {
			return
		}
		for i := done; i < len(ts); i++ {
			ts[i].Workloads, ts[i].Systems = workloads, systems
		}
		workloads, systems, done = nil, nil, len(ts)
	}
	rs.traceLookups(func(workload, system string) {
		attribute()
		if !slices.Contains(workloads, workload) {
			workloads = append(workloads, workload)
		}
		if !slices.Contains(systems, system) {
			systems = append(systems, system)
		}
	})
	defer rs.traceLookups(nil)
	ts.firstRound(rs)
	ts.sharedTurns(rs)
	ts.writePath(rs)
	ts.redis(rs)
	ts.postgres(rs)
	attribute()
	return ts
}

// targetList collects targets as they are evaluated.
type targetList []Target

// atMost adds a target "v ≤ limit", measured if ok.
func (ts *targetList) atMost(what, want string, v, limit float64, ok bool, measured string) {
	t := Target{What: what, Want: want, Chart: true}
	if ok {
		t.Score, t.Met, t.Measured = v/limit, v <= limit, measured
	}
	*ts = append(*ts, t)
}

// within adds a target "v ≤ d" for a difference v, which may be negative
// (better than the reference); the chart draws it from 1/100 of d.
func (ts *targetList) within(what, want string, v, d float64, ok bool, measured string) {
	ts.atMost(what, want, max(v, d/100), d, ok, measured)
	if ok {
		(*ts)[len(*ts)-1].Met = v <= d
	}
}

// fail marks the last target not met (a second condition failed).
func (ts *targetList) fail() { (*ts)[len(*ts)-1].Met = false }

func (ts *targetList) firstRound(rs *Results) {
	get := rs.Lookup
	lsRead, ok1 := get("do-read", "lockstep", "serial")
	mmRead, ok2 := get("do-read", "mutex-map", "serial")
	ts.atMost("Do, resident session, read-only, vs sync.Mutex + map", "≤ 5x",
		lsRead/mmRead, 5, ok1 && ok2, fmt.Sprintf("%.1fx (%.0f ns vs %.1f ns)", lsRead/mmRead, lsRead, mmRead))
	allocs, ok := get("do-read", "lockstep", "serial-allocs")
	*ts = append(*ts, Target{What: "same, allocations", Want: "≤ 1 allocs/op",
		Measured: measured(ok, fmt.Sprintf("%.0f allocs/op", allocs)), Met: ok && allocs <= 1})
	for _, peer := range []struct {
		name  string
		times float64
	}{{"scs-memstore", 20}, {"gorilla-filesystem", 100}} {
		v, ok := get("do-read", peer.name, "serial")
		ratio := v / lsRead
		ts.atMost("same, per request, vs "+peer.name, fmt.Sprintf("≥ %.0fx faster", peer.times),
			peer.times/ratio, 1, ok && ok1, fmt.Sprintf("%.0fx faster (%.0f ns vs %.0f ns)", ratio, v, lsRead))
	}
	lsRPS, ok1 := get("http-read", "lockstep", "one-session")
	scsRPS, ok2 := get("http-read", "scs-memstore", "one-session")
	ts.atMost("HTTP round trip, one session, read-only, vs scs LoadAndSave", "faster (> 1x)",
		scsRPS/lsRPS, 1, ok1 && ok2, fmt.Sprintf("%.2fx (%.0f vs %.0f req/s)", lsRPS/scsRPS, lsRPS, scsRPS))

	fr, ok1 := get("contended-5x30", "lockstep", "floor-ratio")
	final, ok2 := get("contended-5x30", "lockstep", "final-counter")
	want, _ := get("contended-5x30", "lockstep", "expected-counter")
	mm, _ := get("contended-5x30", "mutex-map", "floor-ratio")
	ts.atMost("5 clients x 30 requests, one session: wall time / floor", "≤ 1.05x, counter exact",
		fr, 1.05, ok1 && ok2, fmt.Sprintf("%.3fx floor (mutex-map %.3fx), counter %.0f of %.0f", fr, mm, final, want))
	if ok2 && final != want {
		ts.fail()
	}
	for _, s := range []string{"lockstep", "lockstep-memory"} {
		lost, ok := get("lost-updates", s, "lost")
		n, _ := get("lost-updates", s, "requests")
		*ts = append(*ts, Target{What: "lost updates, " + s, Want: "0",
			Measured: measured(ok, fmt.Sprintf("%.0f of %.0f", lost, n)), Met: ok && lost == 0})
	}

	med, ok := get("handover", "lockstep", "median")
	p99, _ := get("handover", "lockstep", "p99")
	ts.atMost("cross-process hand-over of an idle session, median", "< 2 ms",
		med, 2, ok, fmt.Sprintf("%.2f ms (p99 %.2f ms)", med, p99))
	// The CPU a request burns while it waits is its CPU during a busy wait
	// less what the same request costs when it waits for nothing (an idle
	// take-over): each system's own work on the session is not waiting.
	waiting := func(system string) (float64, bool) {
		busy, ok1 := get("handover", system, "waiter-cpu")
		idle, ok2 := get("handover", system, "taker-cpu")
		return max(busy-idle, 1), ok1 && ok2
	}
	cpu, ok1 := waiting("lockstep")
	poll, ok2 := waiting("poll-10ms")
	ts.atMost("waiting process's CPU time while waiting, vs a 10 ms poll", "≤ 1x",
		cpu/poll, 1, ok1 && ok2, fmt.Sprintf("%.2fx (%.0f µs vs %.0f µs per 100 ms wait)", cpu/poll, cpu, poll))

	mem, ok := get("memory-per-session", "lockstep-memory", "at-100k")
	ts.atMost("memory per resident session at 100k (lockstep-memory, data included)", "≤ 1 KiB",
		mem, 1024, ok, fmt.Sprintf("%.0f B", mem))

	for _, m := range []struct{ system, bare string }{
		{"lockstep", "bare-read-atomic-write"},
		{"lockstep-sync", "bare-read-atomic-write-fsync"},
		{"lockstep-onpassivate", "bare-read-atomic-write"},
	} {
		v, ok1 := get("activation", m.system, "cycle")
		bare, ok2 := get("activation", m.system, "bare-alongside")
		ts.atMost("activation + passivation, "+m.system+", vs "+m.bare, "≤ 2x", v/bare, 2, ok1 && ok2,
			fmt.Sprintf("%.2fx (%.0f µs vs %.0f µs)", v/bare, v/1e3, bare/1e3))
	}
}

// writePath adds the second round's targets for the file store.
// sharedTurns are the targets of Views and read-only requests.
func (ts *targetList) sharedTurns(rs *Results) {
	get := rs.Lookup
	view, ok1 := get("view-read", "lockstep", "parallel")
	rw, ok2 := get("view-read", "rwmutex-map", "parallel")
	ts.atMost("View, one session, parallel, vs sync.RWMutex + map", "≤ 3x",
		view/rw, 3, ok1 && ok2, fmt.Sprintf("%.1fx (%.0f ns vs %.1f ns)", view/rw, view, rw))
	burst, ok := get("ajax-burst", "lockstep-readonly", "burst/one")
	ts.atMost("ajax-burst, lockstep with ReadOnly: burst vs one request", "≤ 2x",
		burst, 2, ok, fmt.Sprintf("%.2fx", burst))
	ls, ok1 := get("http-read", "lockstep", "one-session")
	mm, ok2 := get("http-read", "mutex-map", "one-session")
	ts.atMost("HTTP round trip, one session, read-only, vs the mutex-map server", "≥ 0.95x",
		0.95*mm/ls, 1, ok1 && ok2, fmt.Sprintf("%.2fx (%.0f vs %.0f req/s)", ls/mm, ls, mm))
}

func (ts *targetList) writePath(rs *Results) {
	get := rs.Lookup
	above, ok1 := get("commit", "lockstep", "above-memory")
	vsFloor, _ := get("commit", "lockstep", "vs-floor")
	floor, _ := get("commit", "lockstep", "floor-alongside")
	ts.atMost("commit (OnCommit) above lockstep-memory's, vs a bare stat + open + pwrite + close alongside", "≤ 1.5x",
		vsFloor, 1.5, ok1, fmt.Sprintf("%.2fx (%.1f µs vs %.1f µs)", vsFloor, above/1e3, floor/1e3))

	vs, ok1 := get("commit-sync", "lockstep-sync", "vs-floor")
	commit, _ := get("commit-sync", "lockstep-sync", "commit")
	floor, _ = get("commit-sync", "lockstep-sync", "floor-alongside")
	ts.atMost("commit, OnCommitSync, vs a bare pwrite + fdatasync alongside", "≤ 1.5x",
		vs, 1.5, ok1, fmt.Sprintf("%.2fx (%.0f µs vs %.0f µs)", vs, commit/1e3, floor/1e3))

	d, ok1 := get("contended-5x30", "lockstep", "vs-memory")
	fr, _ := get("contended-5x30", "lockstep", "floor-ratio")
	base, _ := get("contended-5x30", "lockstep", "memory-alongside")
	spread, _ := get("contended-5x30", "lockstep", "vs-memory-spread")
	ts.within("5 x 30, file store: floor ratio added to lockstep-memory's", "within 0.01",
		d, 0.01, ok1, fmt.Sprintf("%+.4f (spread %.4f; raw %.3fx vs %.3fx)", d, spread, fr, base))

	ls, ok1 := get("http-write", "lockstep", "many-sessions")
	gor, ok2 := get("http-write", "gorilla-filesystem", "many-sessions")
	ts.atMost("HTTP writes, many sessions, file store, vs gorilla-filesystem", "≥ 3x faster",
		3*gor/ls, 1, ok1 && ok2, fmt.Sprintf("%.2fx (%.0f vs %.0f req/s)", ls/gor, ls, gor))

	v, ok1 := get("activation", "lockstep", "vs-cherrypy")
	cycle, _ := get("activation", "lockstep", "cycle")
	cp, _ := get("activation", "lockstep", "cherrypy-alongside")
	ts.atMost("activation, lockstep, vs one cherrypy-style-1ms request", "≤ 1x",
		v, 1, ok1, fmt.Sprintf("%.2fx (%.0f µs vs %.0f µs)", v, cycle/1e3, cp/1e3))
}

// writeRatio adds the target "a serial do-write of system a costs at most
// limit times one of system b".
func (ts *targetList) writeRatio(rs *Results, what, want, a, b string, limit float64) {
	x, ok1 := rs.Lookup("do-write", a, "serial")
	y, ok2 := rs.Lookup("do-write", b, "serial")
	ts.atMost(what, want, x/y, limit, ok1 && ok2, fmt.Sprintf("%.2fx (%.1f µs vs %.1f µs)", x/y, x/1e3, y/1e3))
}

// redis adds the second round's targets for the Redis store.
func (ts *targetList) redis(rs *Results) {
	ts.writeRatio(rs, "Redis store: a write Do vs a bare SET of the same bytes", "≤ 1.5x", "lockstep-redis", "redis-set", 1.5)
	ts.sharedStore(rs, "Redis store", "lockstep-redis", "scs-redisstore", 2, 0.02)
}

// sharedStore adds the targets that every store shared between processes
// has, for lockstep's system over it (called what) and scs's (scs): an idle
// hand-over's median below handoverMS, the floor ratio of contended-5x30
// within d of lockstep-memory's with the counter exact, no lost updates,
// and HTTP reads of one session faster than scs's.
func (ts *targetList) sharedStore(rs *Results, what, system, scs string, handoverMS, d float64) {
	get := rs.Lookup
	med, ok := get("handover", system, "median")
	p99, _ := get("handover", system, "p99")
	ts.atMost(what+": idle hand-over between two processes, median", fmt.Sprintf("< %g ms", handoverMS),
		med, handoverMS, ok, fmt.Sprintf("%.2f ms (p99 %.2f ms)", med, p99))

	vs, ok1 := get("contended-5x30", system, "vs-memory")
	fr, _ := get("contended-5x30", system, "floor-ratio")
	base, _ := get("contended-5x30", system, "memory-alongside")
	final, _ := get("contended-5x30", system, "final-counter")
	want, _ := get("contended-5x30", system, "expected-counter")
	ts.within(what+": 5 x 30, floor ratio added to lockstep-memory's", fmt.Sprintf("within %g, counter exact", d),
		vs, d, ok1, fmt.Sprintf("%+.4f (raw %.3fx vs %.3fx), counter %.0f of %.0f", vs, fr, base, final, want))
	if ok1 && final != want {
		ts.fail()
	}

	lost, ok1 := get("lost-updates", system, "lost")
	scsLost, ok2 := get("lost-updates", scs, "lost")
	n, _ := get("lost-updates", system, "requests")
	*ts = append(*ts, Target{What: what + ": lost updates, vs " + scs, Want: "0, where scs loses most",
		Measured: measured(ok1 && ok2, fmt.Sprintf("%.0f of %.0f (%s %.0f)", lost, n, scs, scsLost)),
		Met:      ok1 && ok2 && lost == 0 && scsLost > n/2})

	rd, ok1 := get("http-read", system, "one-session")
	scsRd, ok2 := get("http-read", scs, "one-session")
	ts.atMost(what+": HTTP reads, one session, vs "+scs, "faster (> 1x)",
		scsRd/rd, 1, ok1 && ok2, fmt.Sprintf("%.2fx (%.0f vs %.0f req/s)", rd/scsRd, rd, scsRd))
}

func measured(ok bool, s string) string {
	if !ok {
		return ""
	}
	return s
}

// WriteTargets prints the targets of ts that were measured as a Markdown
// table, and how many were not.
func WriteTargets(w io.Writer, ts []Target) {
	rows := [][]string{{"target", "want", "measured", "met"}}
	unmeasured := 0
	for _, t := range ts {
		if t.Measured == "" {
			unmeasured++
			continue
		}
		met := "not met"
		if t.Met {
			met = "met"
		}
		rows = append(rows, []string{t.What, t.Want, t.Measured, met})
	}
	if len(rows) > 1 {
		fmt.Fprintf(w, "### Targets\n\n")
		writeMarkdown(w, rows, 4)
		fmt.Fprintln(w)
	}
	if unmeasured > 0 && len(rows) > 1 {
		fmt.Fprintf(w, "%s need workloads or systems this run did not measure.\n\n", plural(unmeasured, "more target"))
	}
}

// Chart draws the measured targets as an SVG bar chart: each bar is the
// measured value over its target on a log scale from 1/100 to 100, so a
// bar that ends left of the target line meets its target.
func Chart(ts []Target) string {
	const (
		rowH, top, labelW, plotW, rightW = 30, 56, 510, 300, 340
		width                            = labelW + plotW + rightW
		lo, hi                           = -2.0, 2.0 // log10 of the scale's ends
	)
	var rows []Target
	for _, t := range ts {
		if t.Chart && t.Measured != "" && t.Score > 0 && !math.IsInf(t.Score, 0) && !math.IsNaN(t.Score) {
			rows = append(rows, t)
		}
	}
	height := top + rowH*len(rows) + 40
	x := func(score float64) float64 {
		l := math.Max(lo, math.Min(hi, math.Log10(score)))
		return labelW + (l-lo)/(hi-lo)*plotW
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">lockstep against its targets (docs/benchmarks.md)</text>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="38" fill="#444">bar = measured / target, log scale; a bar ending left of the dashed line meets its target</text>`+"\n")
	for _, tick := range []float64{0.01, 0.1, 1, 10, 100} {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x(tick), top-6, x(tick), top+rowH*len(rows))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#666">%gx</text>`+"\n", x(tick), top+rowH*len(rows)+16, tick)
	}
	for i, t := range rows {
		y := top + i*rowH
		color := "#2e7d32"
		if !t.Met {
			color = "#c62828"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s (%s)</text>`+"\n", labelW-8, y+rowH/2+4, html.EscapeString(shorten(t.What, 64)), html.EscapeString(t.Want))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW, y+5, x(t.Score)-labelW, rowH-10, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#222">%s</text>`+"\n", labelW+plotW+8, y+rowH/2+4, html.EscapeString(shorten(t.Measured, 50)))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-dasharray="4 3"/>`+"\n", x(1), top-10, x(1), top+rowH*len(rows)+4)
	b.WriteString("</svg>\n")
	return b.String()
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
