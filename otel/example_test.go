package otel_test

import (
	"context"
	"fmt"
	"slices"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/lockstep-go/lockstep/engine"
	lsotel "github.com/lockstep-go/lockstep/otel"
	"github.com/lockstep-go/lockstep/persist"
)

// Wire adds the instruments to an engine's Config in one line.
func ExampleWire() {
	reader := sdkmetric.NewManualReader() // an application uses its exporter's reader
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	cfg, err := lsotel.Wire(engine.Config{}, lsotel.Config{MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	eng, err := engine.New(persist.NewMemory(), cfg)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	id, _ := eng.Create(ctx)
	_ = eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
		s.Set("visits", 1)
		return nil
	})
	_ = eng.Close()

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names = append(names, m.Name+" ("+m.Unit+")")
		}
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Println(n)
	}
	// Output:
	// lockstep.commit.duration (s)
	// lockstep.commit.size (By)
	// lockstep.session.events ({event})
	// lockstep.session.resident ({session})
	// lockstep.turn.duration (s)
	// lockstep.turn.wait.duration (s)
}
