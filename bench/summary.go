package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// A headline is the metric that stands for a workload in the summary.
type headline struct {
	metric string // the metric compared; more is better for rates (a unit ending in "/s")
	label  string // what it is, in a few words; the metric's name if empty
	// floorRatio names a metric of lockstep's that already is its cost over
	// a floor measured alongside it, which floorName describes; empty to
	// compare with the best floor system that ran the workload.
	floorRatio, floorName string
}

// headlines are the workloads' headline metrics. A workload missing here
// is summarised by the first metric it recorded.
var headlines = map[string]headline{
	"do-read":            {metric: "serial", label: "read request"},
	"do-write":           {metric: "serial", label: "write request"},
	"http-read":          {metric: "one-session", label: "HTTP reads, one session"},
	"http-write":         {metric: "many-sessions", label: "HTTP writes, many sessions"},
	"contended-5x30":     {metric: "wall", label: "wall time", floorRatio: "floor-ratio", floorName: "150 x 10 ms"},
	"lost-updates":       {metric: "lost", label: "updates lost"},
	"handover":           {metric: "median", label: "idle hand-over, median"},
	"memory-per-session": {metric: "at-100k", label: "heap per session at 100k"},
	"activation":         {metric: "cycle", label: "load + save", floorRatio: "vs-bare", floorName: "read + atomic write"},
	"commit":             {metric: "above-memory", label: "commit, above the memory store", floorRatio: "vs-floor", floorName: "stat+open+pwrite+close"},
	"commit-sync":        {metric: "commit", label: "synced commit", floorRatio: "vs-floor", floorName: "pwrite+fdatasync"},
	"view-read":          {metric: "serial", label: "read-only View"},
	"ajax-burst":         {metric: "burst", label: "page + 10 reads at once"},
	"do-observer":        {metric: "write-vs-nil", label: "write, otel observer over none"},
}

// floorSystems are the systems that keep no sessions but are the floor
// lockstep is compared with, besides every system whose name starts with
// "bare-". A system whose name starts with "lockstep" is lockstep's; every
// other one is a peer.
var floorSystems = []string{"mutex-map", "rwmutex-map", "redis-set", "pg-update", "pg-update-prepared"}

// lossySystems are the peers known to lose updates, for runs that do not
// measure lost-updates; where it ran, a peer keeps every update if it lost
// none there.
var lossySystems = []string{"scs-memstore", "gorilla-filesystem", "scs-redisstore", "scs-pgxstore"}

// isFloor reports whether system s is a floor rather than a session system.
func isFloor(s string) bool { return strings.HasPrefix(s, "bare-") || slices.Contains(floorSystems, s) }

// keepsUpdates reports whether peer s lost no update in rs's lost-updates
// workload or, where that did not run, is not known to lose them.
func keepsUpdates(rs *Results, s string) bool {
	if lost, ok := rs.Lookup("lost-updates", s, "lost"); ok {
		return lost == 0
	}
	return !slices.Contains(lossySystems, s)
}

// A summaryRow is one workload in the summary.
type summaryRow struct {
	workload, metric, unit string
	label                  string // what metric measures
	lockstep, peer, floor  cell
	floorCost              float64 // lockstep's cost over the floor (1 = the floor); 0 if none
	floorAlongside         bool    // the floor is floorName of a headline, measured with lockstep
	lossy                  []cell  // peers that lose updates, better than lockstep on the metric
	peers                  bool    // whether any peer ran the workload
	met, targets           int
	missed                 []string // lockstep's systems of the targets not met
}

// A cell is one system's value.
type cell struct {
	system string
	value  float64
	ok     bool
}

// Summary returns one row per workload that rs holds results of, in the
// order of the workloads table.
func Summary(rs *Results, ts []Target) []summaryRow {
	var rows []summaryRow
	for _, wl := range workloads {
		if r, ok := summarise(rs, ts, wl); ok {
			rows = append(rows, r)
		}
	}
	return rows
}

// summarise returns the summary row of wl, if lockstep ran it.
func summarise(rs *Results, ts []Target, wl workload) (summaryRow, bool) {
	h, ok := headlines[wl.name]
	if !ok {
		for _, r := range rs.All() {
			if r.Workload == wl.name {
				h.metric = r.Metric
				break
			}
		}
	}
	row := summaryRow{workload: wl.name, metric: h.metric, label: h.label}
	if row.label == "" {
		row.label = h.metric
	}
	for _, r := range rs.All() {
		if r.Workload == wl.name && r.Metric == h.metric {
			row.unit = r.Unit
			break
		}
	}
	higher := strings.HasSuffix(row.unit, "/s")
	// cost turns a value into a cost: less is better.
	cost := func(v float64) float64 {
		if higher {
			return 1 / v
		}
		return v
	}
	better := func(a, b cell) bool { return !b.ok || cost(a.value) < cost(b.value) }
	for _, s := range wl.systems {
		v, ok := rs.Lookup(wl.name, s, h.metric)
		if !ok {
			continue
		}
		c := cell{s, v, true}
		switch {
		case isLockstep(s):
			if !row.lockstep.ok {
				row.lockstep = c
			}
		case isFloor(s):
			if h.floorRatio == "" && better(c, row.floor) {
				row.floor = c
			}
		case keepsUpdates(rs, s):
			row.peers = true
			if better(c, row.peer) {
				row.peer = c
			}
		default:
			row.peers = true
			row.lossy = append(row.lossy, c)
		}
	}
	if !row.lockstep.ok {
		return row, false
	}
	row.lossy = slices.DeleteFunc(row.lossy, func(c cell) bool {
		return wl.name != "lost-updates" && !better(c, row.lockstep)
	})
	if h.floorRatio != "" {
		if v, ok := rs.Lookup(wl.name, row.lockstep.system, h.floorRatio); ok {
			row.floor, row.floorCost, row.floorAlongside = cell{h.floorName, v, true}, v, true
		}
	} else if row.floor.ok && cost(row.floor.value) > 0 {
		row.floorCost = cost(row.lockstep.value) / cost(row.floor.value)
	}
	for _, t := range ts {
		if t.Measured != "" && slices.Contains(t.Workloads, wl.name) {
			row.targets++
			if t.Met {
				row.met++
				continue
			}
			for _, s := range t.Systems {
				if isLockstep(s) && !slices.Contains(row.missed, s) {
					row.missed = append(row.missed, s)
				}
			}
		}
	}
	return row, true
}

// verdict says how lockstep compares: with the best peer that keeps every
// update, then with the targets.
func (r summaryRow) verdict() string {
	higher := strings.HasSuffix(r.unit, "/s")
	var parts []string
	switch l, p := r.lockstep.value, r.peer.value; {
	case !r.peers:
		parts = append(parts, "no peer ran")
	case !r.peer.ok:
		parts = append(parts, "no peer keeps every update")
	case l == p:
		parts = append(parts, "even")
	case (l > p) == higher:
		parts = append(parts, "ahead "+times(l, p))
	default:
		parts = append(parts, "behind "+times(l, p))
	}
	missed := "(" + strings.Join(r.missed, ", ") + ")"
	switch {
	case r.targets == 0:
	case r.met == r.targets:
		parts = append(parts, plural(r.targets, "target")+" met")
	case r.targets == 1:
		parts = append(parts, "target missed "+missed)
	default:
		parts = append(parts, fmt.Sprintf("%d of %s missed %s", r.targets-r.met, plural(r.targets, "target"), missed))
	}
	return strings.Join(parts, "; ")
}

// times is the larger of a and b over the smaller, as "63x".
func times(a, b float64) string {
	if a == 0 || b == 0 {
		return ""
	}
	return formatValue(math.Max(a, b)/math.Min(a, b)) + "x"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// WriteSummary prints the summary as a Markdown table: per workload,
// lockstep's headline value, the best peer that keeps every update, the
// floor and lockstep's cost over it, and the verdict. Peers that lose
// updates are named where they beat lockstep (and, in lost-updates, where
// they lose).
func WriteSummary(w io.Writer, rows []summaryRow) {
	if len(rows) == 0 {
		return
	}
	table := [][]string{{"workload", "measure", "lockstep", "best peer that keeps every update", "floor (lockstep's cost over it)", "verdict"}}
	for _, r := range rows {
		peer := "–"
		if r.peer.ok {
			peer = r.peer.system + " " + formatUnit(r.peer.value, r.unit)
		}
		if len(r.lossy) > 0 {
			var ls []string
			for _, c := range r.lossy {
				ls = append(ls, c.system+" "+formatUnit(c.value, r.unit))
			}
			peer += " (losing updates: " + strings.Join(ls, ", ") + ")"
		}
		floor := "–"
		switch {
		case r.floorAlongside:
			floor = fmt.Sprintf("%s (%sx)", r.floor.system, formatValue(r.floorCost))
		case r.floor.ok && r.floorCost > 0:
			floor = fmt.Sprintf("%s %s (%sx)", r.floor.system, formatUnit(r.floor.value, r.unit), formatValue(r.floorCost))
		case r.floor.ok:
			floor = r.floor.system + " " + formatUnit(r.floor.value, r.unit)
		}
		table = append(table, []string{
			r.workload, r.label,
			formatUnit(r.lockstep.value, r.unit) + lockstepVariant(r.lockstep.system),
			peer, floor, r.verdict(),
		})
	}
	fmt.Fprintf(w, "### Summary\n\n")
	writeMarkdown(w, table, len(table[0]))
	fmt.Fprintln(w)
}

// lockstepVariant names lockstep's system in a summary cell unless it is
// the default one.
func lockstepVariant(s string) string {
	if s == "lockstep" {
		return ""
	}
	return " (" + s + ")"
}

// formatUnit prints v with its unit, a time per operation in ns, µs or ms.
func formatUnit(v float64, unit string) string {
	switch unit {
	case "count":
		return formatValue(v)
	case "x":
		return formatValue(v) + "x"
	case "ns/op":
	default:
		return formatValue(v) + " " + unit
	}
	switch a := math.Abs(v); {
	case a >= 1e6:
		return formatValue(v/1e6) + " ms"
	case a >= 1e3:
		return formatValue(v/1e3) + " µs"
	}
	return formatValue(v) + " ns"
}
