package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/lockstep-go/lockstep/dashboard"
	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/httpadapter"
	lsotel "github.com/lockstep-go/lockstep/otel"
)

// observability is what the application shows of its sessions: the
// engine's OpenTelemetry metrics, served at /metrics in Prometheus's text
// format; the dashboard at /admin/, with the charts of a Recorder; and the
// sessions' lifecycle events, logged.
type observability struct {
	rec     *dashboard.Recorder
	mp      *sdkmetric.MeterProvider
	metrics http.Handler
}

// newObservability returns the application's metrics pipeline: an
// OpenTelemetry MeterProvider read by the Prometheus exporter, on a
// registry of its own (a process, or a test, may run several).
func newObservability() (*observability, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	return &observability{
		rec:     dashboard.NewRecorder(),
		mp:      sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)),
		metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}, nil
}

// wire returns cfg with the engine's observers and event callback: the
// OpenTelemetry instruments, the dashboard's Recorder, and a log line per
// lifecycle event.
func (o *observability) wire(cfg engine.Config) (engine.Config, error) {
	cfg.Observer = o.rec.Observer()
	cfg.OnEvent = func(ev engine.Event) {
		slog.Info("app: session event", "kind", ev.Kind, "key", ev.Key[:12], "new_key", shortKey(ev.NewKey), "owner", ev.Owner)
	}
	return lsotel.Wire(cfg, lsotel.Config{MeterProvider: o.mp})
}

func shortKey(k string) string {
	if len(k) > 12 {
		return k[:12]
	}
	return k
}

// mount registers /metrics and /admin/ on mux. The dashboard is for the
// logged-in user (the example has no roles; a real application would check
// one) and runs behind the session middleware, so that Authorize can read
// the session.
func (o *observability) mount(mux *http.ServeMux, eng *engine.Engine, sessions func(http.Handler) http.Handler) {
	mux.Handle("GET /metrics", o.metrics)
	admin := dashboard.Handler(eng, dashboard.Config{Authorize: loggedIn, Recorder: o.rec})
	mux.Handle("/admin/", sessions(http.StripPrefix("/admin", admin)))
}

// loggedIn reports whether the request's session has a user.
func loggedIn(r *http.Request) bool {
	var user string
	err := httpadapter.Do(r, func(ctx context.Context, s *engine.Session) error {
		user, _ = engine.Get[string](s, keyUser)
		return nil
	})
	return err == nil && user != ""
}

// Close flushes and stops the metrics pipeline.
func (o *observability) Close() error {
	return o.mp.Shutdown(context.Background())
}
