// Command bench runs lockstep's side-by-side benchmark suite: the same
// workloads against lockstep and the session systems it replaces, in one run
// on one machine, printed as Markdown: a summary (one row per workload:
// lockstep, the best peer that keeps every update, the floor, the verdict),
// the targets that were measured, then one table per workload. On request
// it writes the results as JSON and two SVG charts: the systems side by
// side, and lockstep against its targets (docs/benchmarks.md).
//
//	go -C bench run .              # full run, several minutes
//	go -C bench run . -quick       # about 2 minutes on 2 cores
//	go -C bench run . -smoke       # one iteration of everything, for CI
//	go -C bench run . -json out.json -systems-svg systems.svg -svg targets.svg
//	go -C bench run . -only do-read,lost-updates -systems lockstep,scs-memstore
//
// docs/benchmarks.md describes every workload and metric.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

func main() {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	quick := fs.Bool("quick", false, "shorter measurements: about 2 minutes on 2 cores")
	smoke := fs.Bool("smoke", false, "one iteration of everything (for CI): a few seconds, numbers meaningless")
	jsonFile := fs.String("json", "", "also write every result to this file as a JSON array")
	svgFile := fs.String("svg", "", "also write an SVG chart of the targets (measured over target) to this file")
	systemsSVG := fs.String("systems-svg", "", "also write an SVG chart of the systems side by side (req/s, lost updates, 5x30) to this file")
	only := fs.String("only", "", "comma-separated workloads to run (default all)")
	systems := fs.String("systems", "", "comma-separated systems to run (default all)")
	report := fs.String("report", "", "run nothing: print the tables (and write -svg, -systems-svg) of results saved with -json")
	_ = fs.Parse(os.Args[1:])

	if *report != "" {
		rs, err := ReadJSON(*report)
		if err == nil {
			Report(os.Stdout, rs)
			err = writeCharts(rs, *svgFile, *systemsSVG)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}

	p := fullParams
	switch {
	case *smoke:
		p = smokeParams
	case *quick:
		p = quickParams
	}
	p.Only = splitList(*only)
	p.Systems = splitList(*systems)

	host := machine() // before the run loads the machine
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rs, err := Run(ctx, p, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	fmt.Printf("## lockstep benchmark suite, %s run\n\n%s\n", p.Mode, host)
	if p.Mode == "smoke" {
		fmt.Print("Smoke run: single iterations that prove every path runs; the numbers, and so the targets, mean nothing.\n\n")
	}
	Report(os.Stdout, rs)
	if *jsonFile != "" {
		if err := rs.WriteJSON(*jsonFile); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if err := writeCharts(rs, *svgFile, *systemsSVG); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if err != nil {
		os.Exit(1)
	}
}

// writeCharts writes the targets chart to targetsFile and the systems
// chart to systemsFile, each unless its name is empty.
func writeCharts(rs *Results, targetsFile, systemsFile string) error {
	if targetsFile != "" {
		if err := os.WriteFile(targetsFile, []byte(Chart(Targets(rs))), 0o644); err != nil {
			return err
		}
	}
	if systemsFile != "" {
		return os.WriteFile(systemsFile, []byte(SystemsChart(rs)), 0o644)
	}
	return nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Report prints the summary and the targets that were measured, then
// every workload's table.
func Report(w io.Writer, rs *Results) {
	ts := Targets(rs)
	WriteSummary(w, Summary(rs, ts))
	WriteTargets(w, ts)
	for _, wl := range workloads {
		rs.WriteTable(w, wl.name)
	}
}

// machine describes where the suite ran, for the report's header.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%s, %s/%s, %d CPUs (GOMAXPROCS %d), %s%s, %s\n",
		model, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), load, time.Now().UTC().Format("2006-01-02 15:04 MST"))
}
