package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// chartSystems are the rows of the systems chart, lockstep's first.
var chartSystems = []string{
	"lockstep", "lockstep-memory", "lockstep-redis",
	"mutex-map", "scs-memstore", "scs-redisstore", "gorilla-filesystem",
	"cherrypy-style-1ms", "cherrypy-style-100ms",
}

// A chartCell is one system's bar in one panel.
type chartCell struct {
	frac  float64 // bar length, 0 to 1 of the panel's bar width
	label string  // the value, printed after the bar
	ok    bool    // measured
}

// A chartPanel is one column of the systems chart: one metric, one bar per
// system, on a scale of its own.
type chartPanel struct {
	title, scale string
	cells        map[string]chartCell
	ticks        []chartTick // grid lines
	marks        []chartTick // reference lines, drawn dashed
}

// A chartTick is a vertical line across a panel at frac, labelled.
type chartTick struct {
	frac  float64
	label string
}

// SystemsChart draws the systems side by side as an SVG: one row per
// system, one panel per headline metric (HTTP writes over many sessions and
// reads on one session in requests per second on log scales, lost updates,
// and the 5x30 test's wall time over its floor), lockstep's systems in
// blue. A system that did not run (no redis-server) reads "not measured".
func SystemsChart(rs *Results) string {
	panels := []chartPanel{
		ratePanel(rs, "http-write", "many-sessions", "HTTP writes, many sessions"),
		ratePanel(rs, "http-read", "one-session", "HTTP reads, one session"),
		lostPanel(rs),
		contendedPanel(rs),
	}
	var rows []string
	for _, s := range chartSystems {
		for _, p := range panels {
			if p.cells[s].ok {
				rows = append(rows, s)
				break
			}
		}
	}

	const (
		labelW, panelW, gap, valueW = 150, 250, 24, 92
		barW                        = panelW - valueW
		top, rowH                   = 86, 24
	)
	width := labelW + len(panels)*(panelW+gap)
	plotH := rowH * len(rows)
	height := top + plotH + 44
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	b.WriteString(`<text x="10" y="20" font-size="15" font-weight="bold">lockstep and the session systems it replaces, side by side (one run, one machine)</text>` + "\n")
	b.WriteString(`<text x="10" y="38" fill="#444">lockstep's systems in blue, the peers in grey; each panel has its own scale</text>` + "\n")
	for i, s := range rows {
		y := top + i*rowH
		if i%2 == 0 {
			fmt.Fprintf(&b, `<rect x="0" y="%d" width="%d" height="%d" fill="#f5f5f5"/>`+"\n", y, width, rowH)
		}
		weight := "normal"
		if isLockstep(s) {
			weight = "bold"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-weight="%s">%s</text>`+"\n", labelW-10, y+rowH/2+4, weight, html.EscapeString(s))
	}
	for pi, p := range panels {
		x0 := labelW + pi*(panelW+gap)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0, top-30, html.EscapeString(p.title))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", x0, top-14, html.EscapeString(p.scale))
		for _, t := range p.ticks {
			x := float64(x0) + t.frac*barW
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ccc"/>`+"\n", x, top-4, x, top+plotH)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#666" font-size="11">%s</text>`+"\n", x, top+plotH+14, html.EscapeString(t.label))
		}
		for _, m := range p.marks {
			x := float64(x0) + m.frac*barW
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-dasharray="4 3"/>`+"\n", x, top-4, x, top+plotH+2)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="11">%s</text>`+"\n", x, top+plotH+28, html.EscapeString(m.label))
		}
		for i, s := range rows {
			y := top + i*rowH
			c := p.cells[s]
			if !c.ok {
				fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#999" font-style="italic">not measured</text>`+"\n", x0+4, y+rowH/2+4)
				continue
			}
			color := "#9e9e9e"
			if isLockstep(s) {
				color = "#1565c0"
			}
			w := math.Max(0, math.Min(1, c.frac)) * barW
			if w > 0 {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, y+5, w, rowH-10, color)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#222" stroke="white" stroke-width="3" paint-order="stroke">%s</text>`+"\n", float64(x0)+w+4, y+rowH/2+4, html.EscapeString(c.label))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// isLockstep reports whether system s is one of lockstep's.
func isLockstep(s string) bool { return strings.HasPrefix(s, "lockstep") }

// ratePanel is requests per second of one HTTP measurement, on a log scale
// over the decades the values span.
func ratePanel(rs *Results, workload, metric, title string) chartPanel {
	p := chartPanel{title: title, scale: "requests per second, log scale; longer is faster", cells: map[string]chartCell{}}
	vals := map[string]float64{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range chartSystems {
		if v, ok := rs.Lookup(workload, s, metric); ok && v > 0 {
			vals[s] = v
			lo, hi = math.Min(lo, math.Log10(v)), math.Max(hi, math.Log10(v))
		}
	}
	if len(vals) == 0 {
		return p
	}
	lo, hi = math.Floor(lo), math.Max(math.Ceil(hi), math.Floor(lo)+1)
	for s, v := range vals {
		p.cells[s] = chartCell{frac: (math.Log10(v) - lo) / (hi - lo), label: formatRate(v), ok: true}
	}
	for d := lo; d <= hi; d++ {
		p.ticks = append(p.ticks, chartTick{(d - lo) / (hi - lo), decade(d)})
	}
	return p
}

// formatRate prints a rate with about three significant digits: 950,
// 4.74k, 35.8k, 120k.
func formatRate(v float64) string {
	switch {
	case v >= 1e5:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// decade prints 10^d as a tick label: 100, 1k, 10k, 1M.
func decade(d float64) string {
	switch {
	case d >= 6:
		return fmt.Sprintf("%.0fM", math.Pow(10, d-6))
	case d >= 3:
		return fmt.Sprintf("%.0fk", math.Pow(10, d-3))
	default:
		return fmt.Sprintf("%.0f", math.Pow(10, d))
	}
}

// lostPanel is lost-updates' lost increments, out of the requests sent.
func lostPanel(rs *Results) chartPanel {
	p := chartPanel{cells: map[string]chartCell{}}
	n := 0.0
	for _, s := range chartSystems {
		if v, ok := rs.Lookup("lost-updates", s, "requests"); ok {
			n = math.Max(n, v)
		}
	}
	p.title = fmt.Sprintf("lost updates, %.0f concurrent requests", n)
	p.scale = "increments lost, linear; 0 is right"
	if n == 0 {
		return p
	}
	for _, s := range chartSystems {
		if v, ok := rs.Lookup("lost-updates", s, "lost"); ok {
			p.cells[s] = chartCell{frac: v / n, label: fmt.Sprintf("%.0f", v), ok: true}
		}
	}
	p.ticks = []chartTick{{0, "0"}, {1, fmt.Sprintf("%.0f", n)}}
	if math.Mod(n, 2) == 0 {
		p.ticks = append(p.ticks, chartTick{0.5, fmt.Sprintf("%.0f", n/2)})
	}
	return p
}

// contendedPanel is contended-5x30's floor ratio, on a linear scale that
// starts at the floor and ends at 2x at most (a longer bar is cut there,
// its label has the value); a system whose counter ends wrong did not serialise
// the requests: it gets no bar, only its ratio and what it lost.
func contendedPanel(rs *Results) chartPanel {
	p := chartPanel{
		title: "5 clients x 30 requests, one session",
		scale: "wall time / floor, from the floor; shorter is faster",
		cells: map[string]chartCell{},
	}
	type row struct {
		ratio float64
		lost  float64
	}
	vals := map[string]row{}
	hi := 1.3
	for _, s := range chartSystems {
		fr, ok1 := rs.Lookup("contended-5x30", s, "floor-ratio")
		final, ok2 := rs.Lookup("contended-5x30", s, "final-counter")
		want, ok3 := rs.Lookup("contended-5x30", s, "expected-counter")
		if ok1 && ok2 && ok3 {
			vals[s] = row{fr, want - final}
			if final == want {
				hi = math.Min(math.Max(hi, math.Ceil(fr*10)/10), 2)
			}
		}
	}
	const lo = 1.0
	frac := func(v float64) float64 { return (v - lo) / (hi - lo) }
	for s, v := range vals {
		c := chartCell{frac: frac(v.ratio), label: fmt.Sprintf("%.3fx", v.ratio), ok: true}
		if v.lost != 0 {
			c = chartCell{label: fmt.Sprintf("not serialised: %.2fx, lost %.0f", v.ratio, v.lost), ok: true}
		}
		p.cells[s] = c
	}
	step := 0.1
	if hi > 1.5 {
		step = 0.25
	}
	for t := lo; t <= hi+1e-9; t += step {
		p.ticks = append(p.ticks, chartTick{frac(t), fmt.Sprintf("%gx", math.Round(t*100)/100)})
	}
	p.marks = []chartTick{{frac(1.05), "target 1.05x"}}
	return p
}
