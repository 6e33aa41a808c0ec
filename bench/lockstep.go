package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// lockstepSystem is lockstep's engine, on files (engine.Open) or in memory
// (engine.New with persist.NewMemory), with cfg.
type lockstepSystem struct {
	name   string
	memory bool
	cfg    engine.Config
}

func lockstepSystems() []System {
	return []System{
		lockstepSystem{name: "lockstep"},
		lockstepSystem{name: "lockstep-memory", memory: true},
		lockstepSystem{name: "lockstep-sync", cfg: engine.Config{Durability: engine.OnCommitSync}},
		lockstepSystem{name: "lockstep-onpassivate", cfg: engine.Config{Durability: engine.OnPassivate}},
	}
}

func (l lockstepSystem) Name() string { return l.name }

// WithMaxResident returns l with Config.MaxResident set to n.
func (l lockstepSystem) WithMaxResident(n int) System {
	l.cfg.MaxResident = n
	return l
}

func (l lockstepSystem) Open(dir string) (Instance, error) {
	cfg := l.cfg
	if cfg.Logger == nil {
		cfg.Logger = warnLogger()
	}
	var eng *engine.Engine
	var err error
	if l.memory {
		eng, err = engine.New(persist.NewMemory(), cfg)
	} else {
		eng, err = engine.Open(dir, cfg)
	}
	if err != nil {
		return nil, err
	}
	return &lockstepInst{eng: eng}, nil
}

type lockstepInst struct {
	eng *engine.Engine
}

func (i *lockstepInst) Create(ctx context.Context) (string, error) {
	id, err := i.eng.Create(ctx)
	if err != nil {
		return "", err
	}
	return id, i.eng.Do(ctx, id, setOne)
}

// The functions handed to Do capture nothing, so that Do is measured
// without a closure allocation of the harness's.

func setOne(_ context.Context, s *engine.Session) error {
	s.Set(counterKey, 1)
	return nil
}

func readCounter(_ context.Context, s *engine.Session) error {
	if _, ok := s.Get(counterKey); !ok {
		return errNoSession
	}
	return nil
}

func incrCounter(_ context.Context, s *engine.Session) error {
	s.Set(counterKey, counter(s)+1)
	return nil
}

func (i *lockstepInst) Read(ctx context.Context, id string) error {
	return i.eng.Do(ctx, id, readCounter)
}

func (i *lockstepInst) Write(ctx context.Context, id string) error {
	return i.eng.Do(ctx, id, incrCounter)
}

func (i *lockstepInst) Update(ctx context.Context, id string, fn func(Values) error) error {
	return i.eng.Do(ctx, id, func(_ context.Context, s *engine.Session) error { return fn(s) })
}

func (i *lockstepInst) Close() error { return i.eng.Close() }

// warnLogger is the logger of the lockstep systems: warnings and errors,
// to stderr.
func warnLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// lockstepOver is lockstep's engine over a store shared between
// processes, which open makes for an instance's directory, with the
// function that closes what the store was built on.
type lockstepOver struct {
	name string
	open func(dir string, logger *slog.Logger) (persist.Store, func() error, error)
}

func (s lockstepOver) Name() string { return s.name }

func (s lockstepOver) Open(dir string) (Instance, error) {
	logger := warnLogger()
	store, closeBase, err := s.open(dir, logger)
	if err != nil {
		return nil, err
	}
	return openStoreInst(store, logger, closeBase)
}

// storeInst is lockstep over a store shared between processes. Close
// closes the engine, then each of closers in order (the store first, then
// what it was built on).
type storeInst struct {
	*lockstepInst
	closers []func() error
}

func (i *storeInst) Close() error {
	errs := []error{i.eng.Close()}
	for _, c := range i.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// openStoreInst returns lockstep's engine over store, with logger and no
// sweeper, as a storeInst that closes store and then closers. If the engine
// cannot start, it closes them and returns the error.
func openStoreInst(store persist.Store, logger *slog.Logger, closers ...func() error) (Instance, error) {
	closers = append([]func() error{store.Close}, closers...)
	eng, err := engine.New(store, engine.Config{Logger: logger, SweepInterval: -1})
	if err != nil {
		for _, c := range closers {
			_ = c()
		}
		return nil, err
	}
	return &storeInst{lockstepInst: &lockstepInst{eng: eng}, closers: closers}, nil
}
