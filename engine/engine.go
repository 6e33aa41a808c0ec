package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockstep-go/lockstep/actor"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// Engine runs the sessions of one store: each active session is an actor
// that owns its values and its store lock, and serves turns one at a time
// (Views of a session together). All methods are safe for concurrent use.
// Shutdown or Close releases everything.
type Engine struct {
	cfg       Config
	store     persist.Store
	ownsStore bool // Open made the store, so Shutdown closes it
	rt        *actor.Runtime[string, *sessionState]
	tomb      *sessionState // the state of actors whose session is gone

	// closing is cancelled (with cause ErrClosed) when Shutdown begins: it
	// ends every wait for a store lock and a sweep in progress.
	closing     context.Context
	stopClosing context.CancelCauseFunc
	stop        chan struct{} // closed when Shutdown begins
	sweeperDone chan struct{} // closed when the sweeper has returned

	shutdownBegun atomic.Bool   // the first Shutdown has begun
	shutdownDone  chan struct{} // closed when the first Shutdown has finished

	count     counters
	views     sync.Pool    // of *Session, for View: a View allocates none
	destroyed destroyedLog // the sessions destroyed last (see DestroyedSince)

	events    *events   // nil without Config.OnEvent
	obs       *Observer // Config.Observer
	storeName string    // StoreName
}

// Open returns an Engine that stores sessions as files under dir, creating
// dir (mode 0700) if it is missing. Several processes may open the same
// directory; see docs/storage.md.
func Open(dir string, cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	store, err := filestore.Open(dir, dirConfig(cfg))
	if err != nil {
		return nil, err // filestore's error names the directory
	}
	e, err := launch(store, cfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	e.ownsStore = true
	return e, nil
}

// dirConfig is the file store's configuration for cfg: with OnCommitSync,
// deletions are synced as well as commits.
func dirConfig(cfg Config) filestore.Config {
	return filestore.Config{Logger: cfg.Logger, SyncDeletes: cfg.Durability == OnCommitSync}
}

// New returns an Engine over any Store, such as persist.NewMemory(). The
// caller keeps ownership of store: Close does not close it.
func New(store persist.Store, cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("engine: nil store")
	}
	return launch(store, cfg)
}

// launch returns a running Engine; cfg has its defaults.
func launch(store persist.Store, cfg Config) (*Engine, error) {
	e := &Engine{
		cfg:          cfg,
		store:        store,
		stop:         make(chan struct{}),
		sweeperDone:  make(chan struct{}),
		shutdownDone: make(chan struct{}),
	}
	e.tomb = &sessionState{e: e, gone: true}
	e.views.New = func() any { return new(Session) }
	e.obs, e.storeName = cfg.Observer, storeName(store)
	e.closing, e.stopClosing = context.WithCancelCause(context.Background())
	var err error
	e.rt, err = actor.New(actor.Config[string, *sessionState]{
		Activate:       e.activate,
		Passivate:      e.passivateHook(),
		PassivateAfter: cfg.PassivateAfter,
		MaxResident:    cfg.MaxResident,
		Timeout:        cfg.LockTimeout,
		OnError: func(id string, err error) {
			cfg.Logger.Error("engine: passivate session", "session", redact(id), "err", err)
		},
	})
	if err != nil {
		return nil, err
	}
	e.events = startEvents(cfg.OnEvent)
	if cfg.SweepInterval > 0 {
		go e.sweeper()
	} else {
		close(e.sweeperDone)
	}
	return e, nil
}

// Config returns the engine's configuration with its defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// lock takes the store's lock of session id, calling wanted when another
// process asks for it. Once Shutdown begins it gives up with ErrClosed, so
// that a wait for another process's lock never holds Shutdown up. Running
// out of file descriptors, it passivates idle sessions and tries again
// (see withFiles). A wait for another holder is counted as a hand-over
// taken.
func (e *Engine) lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	if e.closed() {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(e.closing, func() { cancel(ErrClosed) })
	defer stop()
	start := time.Now()
	var l persist.Lock
	err := e.withFiles(func() (err error) {
		l, err = e.store.Lock(ctx, id, wanted)
		return err
	})
	if err != nil {
		if errors.Is(context.Cause(ctx), ErrClosed) {
			return nil, ErrClosed
		}
		return nil, err
	}
	if w, ok := l.(persist.HandOverReporter); ok && w.Waited() {
		e.count.handOversTaken.Add(1)
		e.count.handOverWait.Add(int64(time.Since(start)))
		e.observeHandOver(ctx, time.Since(start))
	}
	return l, nil
}

// Sweep removes expired sessions and the store's litter now, and reports
// what it did. Resident sessions are skipped; they expire when next used or
// passivated.
func (e *Engine) Sweep(ctx context.Context) (persist.SweepReport, error) {
	if e.closed() {
		return persist.SweepReport{}, ErrClosed
	}
	rep, err := e.store.Sweep(ctx, e.cfg.Now()) // the store's errors say what failed
	e.count.swept(rep)
	e.emitSwept(rep)
	return rep, err
}

func (e *Engine) sweeper() {
	defer close(e.sweeperDone)
	ticker := time.NewTicker(e.cfg.SweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-ticker.C:
			rep, err := e.store.Sweep(e.closing, e.cfg.Now())
			e.count.swept(rep)
			e.emitSwept(rep)
			if err != nil && e.closing.Err() == nil {
				e.cfg.Logger.Error("engine: sweep", "err", err)
			}
			e.cfg.Logger.Debug("engine: sweep", "expired", rep.Expired, "orphan_locks", rep.OrphanLocks,
				"temp_files", rep.TempFiles, "busy", rep.Busy)
		}
	}
}

// Shutdown stops the engine. From its start, new turns and every other
// method fail with ErrClosed, and every call waiting for a turn gets
// ErrClosed at once: waiters in this process, and those waiting for another
// process's lock. Turns in progress run on until ctx ends; each resident
// session is saved and unlocked (passivated) as soon as it is idle. Then
// Shutdown stops the engine's goroutines and, if Open made the store,
// closes it.
//
// If ctx ends first, Shutdown returns ctx's error but releases everything
// it can all the same. A turn still running then is not interrupted (no Go
// code can be): it runs to its end, commits as usual, and its session is
// passivated and unlocked as its turn ends, on the turn's own goroutine;
// errors from that go to Config.Logger. Nothing waits for it, and the
// engine leaves no goroutine behind but one: a Config.OnEvent call still
// running goes on, on the engine's event goroutine, which then delivers
// the events left and ends. A held [Turn] that is never ended is
// released only by the garbage collector's safety net, when it can fire
// (see [Turn]), as without Shutdown.
//
// Shutdown returns the passivation errors it met (the sessions concerned
// are unlocked anyway: a process that stops must not keep them) joined with
// the store's Close error. A later call (Close after a Shutdown whose ctx
// ended, say) waits, within its own ctx, for turns still running, and
// returns nil or its ctx's error; a call made while the first is still
// running waits for it too, within its own ctx.
func (e *Engine) Shutdown(ctx context.Context) error {
	if e.shutdownBegun.CompareAndSwap(false, true) {
		// Not a sync.Once: a later caller must not wait for this call
		// beyond its own ctx.
		defer close(e.shutdownDone)
		close(e.stop)
		e.stopClosing(ErrClosed)
		<-e.sweeperDone
		errs := []error{e.rt.Shutdown(ctx)}
		errs = append(errs, e.stopEvents(ctx, errs[0]))
		if e.ownsStore {
			errs = append(errs, e.store.Close())
		}
		return errors.Join(errs...)
	}
	select {
	case <-e.shutdownDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	return e.rt.Shutdown(ctx)
}

// Close is Shutdown(context.Background()): it waits for the turns in
// progress, passivates every session and stops the engine's goroutines.
// Calling it again returns nil.
func (e *Engine) Close() error {
	return e.Shutdown(context.Background())
}

func (e *Engine) closed() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}
