package otel_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/engine"
	lsotel "github.com/lockstep-go/lockstep/otel"
	"github.com/lockstep-go/lockstep/persist"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// collect returns the metrics by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, lsotel.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// histogram returns the data points of a float histogram by their
// attribute sets, encoded as "k=v,k=v".
func histogram(t *testing.T, m metricdata.Metrics) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s: got %T, want a float64 histogram", m.Name, m.Data)
	out := map[string]metricdata.HistogramDataPoint[float64]{}
	for _, dp := range h.DataPoints {
		out[attrs(dp.Attributes)] = dp
	}
	return out
}

func attrs(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(parts, ",")
}

func sums(t *testing.T, m metricdata.Metrics) map[string]int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s: got %T, want an int64 sum", m.Name, m.Data)
	out := map[string]int64{}
	for _, dp := range s.DataPoints {
		out[attrs(dp.Attributes)] = dp.Value
	}
	return out
}

func newEngine(t *testing.T, cfg engine.Config, ocfg lsotel.Config) (*engine.Engine, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { require.NoError(t, mp.Shutdown(context.Background())) })
	ocfg.MeterProvider = mp
	cfg.SweepInterval = -1
	cfg, err := lsotel.Wire(cfg, ocfg)
	require.NoError(t, err)
	e, err := engine.New(persist.NewMemory(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e, reader
}

func TestMetrics(t *testing.T) {
	e, reader := newEngine(t, engine.Config{LockTimeout: 50 * time.Millisecond}, lsotel.Config{})
	ctx := context.Background()
	id, err := e.Create(ctx)
	require.NoError(t, err)
	set := func(v int) error {
		return e.Do(ctx, id, func(_ context.Context, s *engine.Session) error {
			s.Set("k", v)
			return nil
		})
	}
	require.NoError(t, set(1)) // loads
	require.NoError(t, set(2))
	held, err := e.Begin(ctx, id)
	require.NoError(t, err)
	require.ErrorIs(t, set(3), engine.ErrLockTimeout)
	require.NoError(t, held.End())
	newID, err := e.Regenerate(ctx, id)
	require.NoError(t, err)
	require.NoError(t, e.Destroy(ctx, newID))

	ms := collect(t, reader)
	for name, unit := range map[string]string{
		"lockstep.turn.wait.duration": "s", "lockstep.turn.duration": "s", "lockstep.commit.duration": "s",
		"lockstep.commit.size": "By", "lockstep.session.resident": "{session}", "lockstep.session.events": "{event}",
	} {
		require.Contains(t, ms, name)
		assert.Equal(t, unit, ms[name].Unit, "%s: unit", name)
	}

	wait := histogram(t, ms["lockstep.turn.wait.duration"])
	assert.Equal(t, uint64(1), wait["lockstep.wait.reason=load"].Count, "the first Do loaded the session")
	assert.Equal(t, lsotel.DurationBuckets, wait["lockstep.wait.reason=load"].Bounds)
	assert.Equal(t, uint64(1), wait["error.type=lock_timeout"].Count, "the Do that timed out")
	assert.GreaterOrEqual(t, wait["error.type=lock_timeout"].Sum, 0.05)
	assert.Equal(t, uint64(4), wait["lockstep.wait.reason=none"].Count, "set(2), Begin, Regenerate, Destroy")

	turns := histogram(t, ms["lockstep.turn.duration"])
	assert.Equal(t, uint64(5), turns[""].Count, "set(1), set(2), the held turn, Regenerate, Destroy")

	commits := histogram(t, ms["lockstep.commit.duration"])
	assert.Equal(t, uint64(4), commits["lockstep.store=memory"].Count, "Create, set(1), set(2), Regenerate's new record")

	require.NoError(t, e.Close()) // delivers every event
	ms = collect(t, reader)
	assert.Equal(t, map[string]int64{
		"lockstep.event.kind=created":     1,
		"lockstep.event.kind=regenerated": 1,
		"lockstep.event.kind=destroyed":   1,
	}, sums(t, ms["lockstep.session.events"]))
	assert.Equal(t, map[string]int64{"": 0}, sums(t, ms["lockstep.session.resident"]), "all passivated")

	for name, m := range ms {
		for _, key := range []string{id, newID, persist.Key(id), persist.Key(newID)} {
			assert.NotContains(t, strings.ToLower(attrsOf(m)), strings.ToLower(key), "%s carries a session ID or key", name)
		}
	}
}

// attrsOf returns every attribute of every data point of m, as text.
func attrsOf(m metricdata.Metrics) string {
	var b strings.Builder
	switch d := m.Data.(type) {
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			b.WriteString(attrs(dp.Attributes))
		}
	case metricdata.Histogram[int64]:
		for _, dp := range d.DataPoints {
			b.WriteString(attrs(dp.Attributes))
		}
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			b.WriteString(attrs(dp.Attributes))
		}
	}
	return b.String()
}

// With Spans, a turn that waited and a commit get spans, children of the
// request's span; a turn that did not wait gets none.
func TestSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { require.NoError(t, tp.Shutdown(context.Background())) })
	e, _ := newEngine(t, engine.Config{}, lsotel.Config{TracerProvider: tp, Spans: true})

	id, err := e.Create(context.Background()) // no request span: no spans
	require.NoError(t, err)
	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	require.NoError(t, e.Do(ctx, id, func(_ context.Context, s *engine.Session) error { // loads and commits
		s.Set("k", 1)
		return nil
	}))
	require.NoError(t, e.Do(ctx, id, func(context.Context, *engine.Session) error { return nil })) // neither
	req.End()

	spans := exp.GetSpans()
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
		if s.Name == "request" {
			continue
		}
		assert.Equal(t, req.SpanContext().SpanID(), s.Parent.SpanID(), "%s: parent", s.Name)
		assert.Equal(t, req.SpanContext().TraceID(), s.SpanContext.TraceID(), "%s: trace", s.Name)
		assert.False(t, s.EndTime.Before(s.StartTime), "%s: ends before it starts", s.Name)
	}
	assert.Equal(t, []string{"lockstep.turn.wait", "lockstep.commit", "request"}, names)
	assert.Contains(t, spans[0].Attributes, attribute.String("lockstep.wait.reason", "load"))
	assert.Contains(t, spans[1].Attributes, attribute.String("lockstep.store", "memory"))
}
