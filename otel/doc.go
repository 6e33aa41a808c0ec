// Package otel records a lockstep engine's work as OpenTelemetry metrics
// and, optionally, spans. It is a module of its own, so that applications
// that do not use OpenTelemetry never download it.
//
// One line wires it when the engine is created:
//
//	cfg, err := lsotel.Wire(engine.Config{IdleTimeout: time.Hour}, lsotel.Config{})
//	...
//	eng, err := engine.Open(dir, cfg)
//
// Wire sets the engine's Observer and OnEvent (calling an OnEvent already
// set as well). The metrics, all named after OpenTelemetry's naming rules,
// durations in seconds with bucket boundaries from 1 µs to 10 s:
//
//	lockstep.turn.wait.duration  histogram, s   how long a Do, View or Begin waited for its turn;
//	                                            lockstep.wait.reason (none, queue, load, handover);
//	                                            error.type when it gave up (lock_timeout, closed, ...)
//	lockstep.turn.duration       histogram, s   how long an outermost turn was held, commit included;
//	                                            error.type when its call failed
//	lockstep.commit.duration     histogram, s   one write of a session's record; lockstep.store;
//	                                            error.type when it failed (lock_lost, ...)
//	lockstep.commit.size         histogram, By  the encoded values written; lockstep.store
//	lockstep.handover.duration   histogram, s   how long taking a session from another holder waited
//	lockstep.handover.given      counter        sessions handed over to another holder
//	lockstep.session.resident    updowncounter  sessions resident in memory
//	lockstep.session.events      counter        lifecycle events; lockstep.event.kind (created,
//	                                            regenerated, destroyed, expired)
//
// No attribute ever carries a session ID or key. With Config.Spans, a
// turn that waited gets a "lockstep.turn.wait" span and every commit a
// "lockstep.commit" span, children of the span in the context passed to
// Do (the request's); work outside a request (passivation, the sweeper)
// makes no spans.
//
// Everything here is safe for concurrent use; nothing needs closing (the
// providers belong to the caller). Errors from creating instruments are
// returned by New and Wire.
package otel
