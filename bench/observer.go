package main

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/lockstep-go/lockstep/engine"
	lsotel "github.com/lockstep-go/lockstep/otel"
)

// observerSystems are lockstep-memory with the otel module's observer
// (the SDK recording into a manual reader, as an application's
// MeterProvider does between two collections), for do-observer.
func observerSystems() []System {
	return []System{otelSystem{}}
}

// The systems of do-observer: the observer nil, then the otel observer.
var observerNames = []string{"lockstep-memory", "lockstep-memory-otel"}

// otelSystem is lockstep-memory wired with the otel module.
type otelSystem struct{}

func (otelSystem) Name() string { return "lockstep-memory-otel" }

func (otelSystem) Open(dir string) (Instance, error) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	cfg, err := lsotel.Wire(engine.Config{}, lsotel.Config{MeterProvider: mp})
	if err != nil {
		return nil, err
	}
	inst, err := lockstepSystem{name: "lockstep-memory-otel", memory: true, cfg: cfg}.Open(dir)
	if err != nil {
		return nil, err
	}
	return &otelInst{Instance: inst, mp: mp}, nil
}

type otelInst struct {
	Instance
	mp *sdkmetric.MeterProvider
}

func (i *otelInst) Close() error {
	err := i.Instance.Close()
	if serr := i.mp.Shutdown(context.Background()); err == nil {
		err = serr
	}
	return err
}

// runDoObserver measures Do on one resident session, reading and writing,
// with the system's observer; for the otel system it measures
// lockstep-memory (no observer) alongside, repeat for repeat, and reports
// the ratio.
func runDoObserver(ctx context.Context, e *env, name string) error {
	inst, _, id, done, err := e.session(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	var base Instance
	var baseID string
	if name != "lockstep-memory" {
		var baseDone func()
		base, _, baseID, baseDone, err = e.session(ctx, "lockstep-memory")
		if err != nil {
			return err
		}
		defer baseDone()
	}
	for _, op := range []struct {
		metric string
		run    func(Instance) func(context.Context, string) error
	}{
		{"read", func(i Instance) func(context.Context, string) error { return i.Read }},
		{"write", func(i Instance) func(context.Context, string) error { return i.Write }},
	} {
		var firstErr error
		bench := func(f func(context.Context, string) error, id string) func(b *testing.B) {
			return func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := f(ctx, id); err != nil {
						firstErr = err
						return
					}
				}
			}
		}
		var best, bestBase testing.BenchmarkResult
		for i := range max(e.p.Repeats, 1) {
			r := testing.Benchmark(bench(op.run(inst), id))
			if i == 0 || nsPerOp(r) < nsPerOp(best) {
				best = r
			}
			if base != nil {
				r := testing.Benchmark(bench(op.run(base), baseID))
				if i == 0 || nsPerOp(r) < nsPerOp(bestBase) {
					bestBase = r
				}
			}
		}
		if firstErr != nil {
			return firstErr
		}
		e.rs.Add("do-observer", name, op.metric, nsPerOp(best), "ns/op")
		e.rs.Add("do-observer", name, op.metric+"-allocs", float64(best.AllocsPerOp()), "allocs/op")
		if base != nil {
			e.rs.Add("do-observer", name, op.metric+"-vs-nil", nsPerOp(best)/nsPerOp(bestBase), "x")
		}
	}
	return nil
}
