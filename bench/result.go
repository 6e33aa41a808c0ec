package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// A Result is one measured number, as it appears in the JSON output.
type Result struct {
	Workload string  `json:"workload"`
	System   string  `json:"system"`
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
}

// Results collects the results of a run in the order they were recorded.
// It is safe for concurrent use.
type Results struct {
	mu    sync.Mutex
	list  []Result
	trace func(workload, system string) // called by Lookup; nil for none
}

// traceLookups makes Lookup call f with the workload and system of every
// lookup, until it is called again with nil.
func (rs *Results) traceLookups(f func(workload, system string)) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.trace = f
}

// Add records one result.
func (rs *Results) Add(workload, system, metric string, value float64, unit string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.list = append(rs.list, Result{workload, system, metric, value, unit})
}

// All returns a copy of the results.
func (rs *Results) All() []Result {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.list)
}

// Lookup returns the value of one result.
func (rs *Results) Lookup(workload, system, metric string) (float64, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.trace != nil {
		rs.trace(workload, system)
	}
	for _, r := range rs.list {
		if r.Workload == workload && r.System == system && r.Metric == metric {
			return r.Value, true
		}
	}
	return 0, false
}

// WriteJSON writes the results to name as a JSON array.
func (rs *Results) WriteJSON(name string) error {
	b, err := json.MarshalIndent(rs.All(), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}

// ReadJSON reads results that WriteJSON wrote.
func ReadJSON(name string) (*Results, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	rs := &Results{}
	if err := json.Unmarshal(b, &rs.list); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rs, nil
}

// WriteTable prints the results of one workload as a Markdown table: one
// row per system, one column per metric, in the order they were recorded.
func (rs *Results) WriteTable(w io.Writer, workload string) {
	var systems, metrics []string
	units := map[string]string{}
	cells := map[[2]string]float64{}
	for _, r := range rs.All() {
		if r.Workload != workload {
			continue
		}
		if !slices.Contains(systems, r.System) {
			systems = append(systems, r.System)
		}
		if !slices.Contains(metrics, r.Metric) {
			metrics = append(metrics, r.Metric)
			units[r.Metric] = r.Unit
		}
		cells[[2]string{r.System, r.Metric}] = r.Value
	}
	if len(systems) == 0 {
		return
	}
	header := []string{"system"}
	for _, m := range metrics {
		header = append(header, m+" ("+units[m]+")")
	}
	rows := [][]string{header}
	for _, s := range systems {
		row := []string{s}
		for _, m := range metrics {
			v, ok := cells[[2]string{s, m}]
			if !ok {
				row = append(row, "")
				continue
			}
			row = append(row, formatValue(v))
		}
		rows = append(rows, row)
	}
	fmt.Fprintf(w, "### %s\n\n", workload)
	writeMarkdown(w, rows, 1)
	fmt.Fprintln(w)
}

// writeMarkdown prints rows (the first is the header) as an aligned
// Markdown table; the first left columns are left-aligned, the others
// right-aligned.
func writeMarkdown(w io.Writer, rows [][]string, left int) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c), 3)
		}
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i < left {
				b.WriteString(" " + c + pad + " |")
			} else {
				b.WriteString(" " + pad + c + " |")
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(rows[0])
	sep := make([]string, len(rows[0]))
	for i := range sep {
		if i < left {
			sep[i] = strings.Repeat("-", width[i])
		} else {
			sep[i] = strings.Repeat("-", width[i]-1) + ":"
		}
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
}

// formatValue prints v with about three significant digits.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e9:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
