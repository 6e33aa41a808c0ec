package otel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/lockstep-go/lockstep/otel"

// Config configures the instruments. The zero value records metrics with
// the global MeterProvider and no spans.
type Config struct {
	// MeterProvider makes the meter. Nil means otel.GetMeterProvider().
	MeterProvider metric.MeterProvider

	// TracerProvider makes the tracer for Spans. Nil means
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider

	// Spans records a span for each turn that waited and for each commit,
	// as a child of the span in the turn's context. Default false.
	Spans bool
}

// DurationBuckets are the bucket boundaries, in seconds, of every
// duration histogram: from 1 µs (a turn served from memory) to 10 s (the
// default lock timeout). The SDK's default boundaries start at 5 ms and
// would put every turn in the first bucket.
var DurationBuckets = []float64{
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
	1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// sizeBuckets are the boundaries, in bytes, of lockstep.commit.size.
var sizeBuckets = []float64{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}

// Attribute keys. None of them ever holds a session ID or key.
const (
	WaitReasonKey = attribute.Key("lockstep.wait.reason") // none, queue, load, handover
	StoreKey      = attribute.Key("lockstep.store")       // Engine.StoreName: memory, filestore, redisstore, ...
	EventKindKey  = attribute.Key("lockstep.event.kind")  // created, regenerated, destroyed, expired
)

// Instruments records an engine's work. Make it with New; give its
// Observer and OnEvent to the engine (Wire does both).
type Instruments struct {
	tracer trace.Tracer // nil without Config.Spans

	wait      metric.Float64Histogram
	turn      metric.Float64Histogram
	commit    metric.Float64Histogram
	size      metric.Int64Histogram
	handOver  metric.Float64Histogram
	given     metric.Int64Counter
	resident  metric.Int64UpDownCounter
	eventsCtr metric.Int64Counter

	// Options made once, so that recording allocates nothing of its own.
	waitOpts  [engine.WaitHandOver + 1][]metric.RecordOption
	eventOpts [engine.SessionExpired + 1][]metric.AddOption
	stores    sync.Map // store name -> []metric.RecordOption
}

// New makes the instruments.
func New(cfg Config) (*Instruments, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	in := &Instruments{}
	if cfg.Spans {
		tp := cfg.TracerProvider
		if tp == nil {
			tp = otel.GetTracerProvider()
		}
		in.tracer = tp.Tracer(ScopeName)
	}
	var errs []error
	seconds := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(DurationBuckets...))
		errs = append(errs, err)
		return h
	}
	in.wait = seconds("lockstep.turn.wait.duration", "How long a call waited for its session's turn.")
	in.turn = seconds("lockstep.turn.duration", "How long an outermost turn was held, its commit included.")
	in.commit = seconds("lockstep.commit.duration", "How long one write of a session's record took.")
	in.handOver = seconds("lockstep.handover.duration", "How long taking a session from another holder waited.")
	var err error
	in.size, err = m.Int64Histogram("lockstep.commit.size", metric.WithUnit("By"),
		metric.WithDescription("The encoded values one write of a session's record wrote."),
		metric.WithExplicitBucketBoundaries(sizeBuckets...))
	errs = append(errs, err)
	in.given, err = m.Int64Counter("lockstep.handover.given", metric.WithUnit("{session}"),
		metric.WithDescription("Sessions handed over to another holder that asked for them."))
	errs = append(errs, err)
	in.resident, err = m.Int64UpDownCounter("lockstep.session.resident", metric.WithUnit("{session}"),
		metric.WithDescription("Sessions resident in memory."))
	errs = append(errs, err)
	in.eventsCtr, err = m.Int64Counter("lockstep.session.events", metric.WithUnit("{event}"),
		metric.WithDescription("Sessions created, regenerated, destroyed and expired."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("lockstep/otel: %w", err)
	}
	for r := range in.waitOpts {
		in.waitOpts[r] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(WaitReasonKey.String(engine.WaitReason(r).String())))}
	}
	for k := engine.SessionCreated; k <= engine.SessionExpired; k++ {
		in.eventOpts[k] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(EventKindKey.String(eventKind(k))))}
	}
	return in, nil
}

// Wire returns ecfg with the Observer and OnEvent of new Instruments made
// from cfg. An Observer or OnEvent already in ecfg is called too, after
// the instruments (engine.MultiObserver).
func Wire(ecfg engine.Config, cfg Config) (engine.Config, error) {
	in, err := New(cfg)
	if err != nil {
		return ecfg, err
	}
	ecfg.Observer = engine.MultiObserver(in.Observer(), ecfg.Observer)
	if prev := ecfg.OnEvent; prev != nil {
		ecfg.OnEvent = func(ev engine.Event) {
			in.OnEvent(ev)
			prev(ev)
		}
	} else {
		ecfg.OnEvent = in.OnEvent
	}
	return ecfg, nil
}

// Observer returns the engine.Observer that records into in.
func (in *Instruments) Observer() *engine.Observer {
	return &engine.Observer{
		TurnWaited:    in.turnWaited,
		TurnEnded:     in.turnEnded,
		Committed:     in.committed,
		HandOverTaken: in.handOverTaken,
		HandOverGiven: func() { in.given.Add(context.Background(), 1) },
		Activated:     func(ctx context.Context, _ engine.Activation) { in.resident.Add(ctx, 1) },
		Passivated:    func(engine.Passivation) { in.resident.Add(context.Background(), -1) },
	}
}

// OnEvent counts ev in lockstep.session.events.
func (in *Instruments) OnEvent(ev engine.Event) {
	if ev.Kind >= engine.SessionCreated && ev.Kind <= engine.SessionExpired {
		in.eventsCtr.Add(context.Background(), 1, in.eventOpts[ev.Kind]...)
	}
}

func (in *Instruments) turnWaited(ctx context.Context, w engine.Wait) {
	if w.Err != nil {
		typ := errorType(w.Err)
		in.wait.Record(ctx, w.Duration.Seconds(), metric.WithAttributes(semconv.ErrorTypeKey.String(typ)))
		in.span(ctx, "lockstep.turn.wait", w.Duration, typ, WaitReasonKey.String(w.Reason.String()))
		return
	}
	r := w.Reason
	if r > engine.WaitHandOver {
		r = engine.WaitNone
	}
	in.wait.Record(ctx, w.Duration.Seconds(), in.waitOpts[r]...)
	if w.Reason != engine.WaitNone && in.tracer != nil {
		in.span(ctx, "lockstep.turn.wait", w.Duration, "", WaitReasonKey.String(w.Reason.String()))
	}
}

func (in *Instruments) turnEnded(ctx context.Context, t engine.TurnInfo) {
	if t.Err != nil {
		in.turn.Record(ctx, t.Duration.Seconds(), metric.WithAttributes(semconv.ErrorTypeKey.String(errorType(t.Err))))
		return
	}
	in.turn.Record(ctx, t.Duration.Seconds())
}

func (in *Instruments) committed(ctx context.Context, c engine.Commit) {
	store := StoreKey.String(c.Store)
	typ := ""
	if c.Err != nil {
		typ = errorType(c.Err)
		in.commit.Record(ctx, c.Duration.Seconds(), metric.WithAttributes(store, semconv.ErrorTypeKey.String(typ)))
	} else {
		opts := in.storeOpts(c.Store)
		in.commit.Record(ctx, c.Duration.Seconds(), opts...)
		in.size.Record(ctx, int64(c.Bytes), opts...)
	}
	if in.tracer != nil {
		in.span(ctx, "lockstep.commit", c.Duration, typ, store, attribute.Int("lockstep.commit.size", c.Bytes))
	}
}

// storeOpts returns the record options of a store's attribute, made once
// per store name.
func (in *Instruments) storeOpts(name string) []metric.RecordOption {
	if v, ok := in.stores.Load(name); ok {
		return v.([]metric.RecordOption)
	}
	opts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(StoreKey.String(name)))}
	v, _ := in.stores.LoadOrStore(name, opts)
	return v.([]metric.RecordOption)
}

func (in *Instruments) handOverTaken(ctx context.Context, d time.Duration) {
	in.handOver.Record(ctx, d.Seconds())
}

// span records a span named name that ended now after d, as a child of
// the span in ctx; none without Config.Spans or a span in ctx.
func (in *Instruments) span(ctx context.Context, name string, d time.Duration, errType string, attrs ...attribute.KeyValue) {
	if in.tracer == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	end := time.Now()
	_, s := in.tracer.Start(ctx, name, trace.WithTimestamp(end.Add(-d)), trace.WithAttributes(attrs...),
		trace.WithSpanKind(trace.SpanKindInternal))
	if errType != "" {
		s.SetAttributes(semconv.ErrorTypeKey.String(errType))
		s.SetStatus(codes.Error, errType)
	}
	s.End(trace.WithTimestamp(end))
}

// errorType names the class of err for the error.type attribute: a few
// low-cardinality values, "_OTHER" for the rest (the application's own
// errors among them).
func errorType(err error) string {
	var enc *engine.EncodeError
	switch {
	case errors.Is(err, engine.ErrLockTimeout):
		return "lock_timeout"
	case errors.Is(err, engine.ErrDeadlock):
		return "deadlock"
	case errors.Is(err, engine.ErrClosed):
		return "closed"
	case errors.Is(err, engine.ErrNotFound):
		return "not_found"
	case errors.Is(err, persist.ErrLockLost):
		return "lock_lost"
	case errors.As(err, &enc):
		return "encode"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	return "_OTHER"
}

func eventKind(k engine.EventKind) string {
	switch k {
	case engine.SessionCreated:
		return "created"
	case engine.SessionRegenerated:
		return "regenerated"
	case engine.SessionDestroyed:
		return "destroyed"
	case engine.SessionExpired:
		return "expired"
	}
	return "unknown"
}
