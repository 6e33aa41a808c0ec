package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lockstep-go/lockstep/actor"
	"github.com/lockstep-go/lockstep/persist"
)

// Engine runs the sessions of one store: each active session is an actor
// that owns its values and its store lock, and serves turns one at a time.
// All methods are safe for concurrent use. Close releases everything.
type Engine struct {
	cfg       Config
	store     persist.Store
	ownsStore bool // Open made the store, so Close closes it
	rt        *actor.Runtime[string, *state]
	tomb      *state // the state of actors whose session is gone

	closeOnce   sync.Once
	closeErr    error
	stop        chan struct{} // closed by Close to stop the sweeper
	done        chan struct{} // closed when the sweeper has returned
	cancelSweep context.CancelFunc
	sweepCtx    context.Context // cancelled by Close, ending a sweep in progress
}

// Stats is a snapshot of an Engine's activity.
type Stats struct {
	Active int // sessions resident in memory (with the file store, also locked)
}

// Open returns an Engine that stores sessions as files under dir, creating
// dir (mode 0700) if it is missing. Several processes may open the same
// directory; see docs/storage.md.
func Open(dir string, cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	store, err := persist.OpenDir(dir, persist.DirConfig{Logger: cfg.Logger, SyncDeletes: cfg.Durability == OnCommitSync})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e, err := launch(store, cfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	e.ownsStore = true
	return e, nil
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
		cfg:   cfg,
		store: store,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	e.tomb = &state{e: e, gone: true}
	e.sweepCtx, e.cancelSweep = context.WithCancel(context.Background())
	var err error
	e.rt, err = actor.New(actor.Config[string, *state]{
		Activate:       e.activate,
		Passivate:      e.passivate,
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
	if cfg.SweepInterval > 0 {
		go e.sweeper()
	} else {
		close(e.done)
	}
	return e, nil
}

// Config returns the engine's configuration with its defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Create starts a new session and returns its ID: 32 bytes from
// crypto/rand, base64url without padding. The session is in the store
// before Create returns.
func (e *Engine) Create(ctx context.Context) (string, error) {
	if e.closed() {
		return "", ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, e.cfg.LockTimeout, ErrLockTimeout)
	defer cancel()
	id := newID()
	lock, err := e.store.Lock(ctx, id, nil)
	if err != nil {
		return "", fmt.Errorf("engine: create session: %w", err)
	}
	st := newState(e, id, map[string]any{})
	st.created = e.cfg.Now()
	st.used = st.created
	st.lock = lock
	if err := e.save(st); err != nil {
		lock.Release()
		return "", err
	}
	if err := lock.Release(); err != nil {
		return "", fmt.Errorf("engine: create session: %w", err)
	}
	return id, nil
}

// Do runs fn in a turn of session id: no other turn of the session runs
// until fn returns. The ctx passed to fn carries the turn, so that a Do,
// Regenerate or Destroy of the same session with it (or with a context
// derived from it) runs inline at once, also when reached through other
// sessions' turns.
//
// If fn returns an error or panics, every change it made is rolled back;
// the error is returned as is and the panic goes on in the caller. When the
// outermost turn ends, its changes are written as Config.Durability says;
// if that write fails they are rolled back and Do returns the error.
//
// Do returns an error matching ErrNotFound if id is malformed, unknown,
// expired or destroyed, ErrLockTimeout if the turn did not come within
// Config.LockTimeout (or ctx's error if ctx ended first), ErrClosed
// after Close, and the store's errors wrapped (a failed write; with the file
// store, persist.ErrLockLost if the session's lock file was removed behind
// its back, after which the next Do locks and loads it afresh).
func (e *Engine) Do(ctx context.Context, id string, fn func(ctx context.Context, s *Session) error) error {
	if !ValidID(id) {
		return notFound(id)
	}
	if st := e.inline(ctx, id); st != nil {
		return e.runNested(ctx, st, fn)
	}
	t, nested, err := e.rt.Acquire(ctx, id)
	if err != nil {
		return e.acquireErr(id, err)
	}
	if nested {
		st := *t.State()
		if st.gone || st.id != id {
			return notFound(id)
		}
		return e.runNested(ctx, st, fn)
	}
	return e.runTurn(t, fn)
}

// inline returns the state of session id if ctx carries a live turn on it.
func (e *Engine) inline(ctx context.Context, id string) *state {
	if t := actor.Lookup(ctx, e.rt, func(st **state) bool { return (*st).id == id && !(*st).gone }); t != nil {
		return *t.State()
	}
	if h, ok := ctx.Value(lazyKey{}).(*held); ok && !h.ended.Load() && h.st.id == id && !h.st.gone {
		return h.st
	}
	return nil
}

// runTurn runs fn as the outermost turn t.
func (e *Engine) runTurn(t *actor.Turn[string, *state], fn func(context.Context, *Session) error) (err error) {
	st := *t.State()
	if st.gone { // a tombstone, shared: leave it alone
		t.Retire()
		t.Release()
		return notFound(t.Key())
	}
	if err := e.start(st); err != nil {
		e.finish(st, t)
		return err
	}
	done := false
	defer func() {
		if !done { // fn panicked: undo and release; the panic goes on
			st.rollback(0)
			e.finish(st, t)
		}
	}()
	if err = fn(t, &st.sess); err != nil {
		st.rollback(0)
	}
	if cerr := e.commit(st); cerr != nil && err == nil {
		err = cerr
	}
	done = true
	e.finish(st, t)
	return err
}

// runNested runs fn inline in a turn that ctx already carries.
func (e *Engine) runNested(ctx context.Context, st *state, fn func(context.Context, *Session) error) (err error) {
	mark := len(st.journal)
	done := false
	defer func() {
		if !done {
			st.rollback(mark)
		}
	}()
	if err = fn(ctx, &st.sess); err != nil {
		st.rollback(mark)
	}
	done = true
	return err
}

// start opens an outermost turn on st: it checks that the session is
// alive and marks it used.
func (e *Engine) start(st *state) error {
	now := e.cfg.Now()
	if st.lock != nil && !now.Before(st.deadline(&e.cfg)) {
		e.expire(st)
		return notFound(st.id)
	}
	st.used = now
	return nil
}

// commit writes the changes of the turn that is ending, per Durability.
// If the write fails the changes are rolled back.
func (e *Engine) commit(st *state) error {
	if err := st.err; err != nil {
		st.err = nil
		st.rollback(0)
		return err
	}
	if st.gone || st.lock == nil {
		st.truncate(0)
		return nil
	}
	changed := len(st.journal) > 0
	switch {
	case st.stored && !changed && !st.dirty:
	case st.stored && e.cfg.Durability == OnPassivate:
		st.dirty = st.dirty || changed
	default:
		if err := e.save(st); err != nil {
			st.rollback(0)
			return err
		}
	}
	st.truncate(0)
	return nil
}

// save writes st's values to its lock.
func (e *Engine) save(st *state) error {
	data, err := encodeValues(st.values)
	if err != nil {
		return fmt.Errorf("engine: session %s: %w", redact(st.id), err)
	}
	rec := persist.Record{Created: st.created, Expires: st.deadline(&e.cfg), Data: data}
	if err := st.lock.Save(rec, e.cfg.Durability == OnCommitSync); err != nil {
		if errors.Is(err, persist.ErrLockLost) {
			st.lost = true // drop the actor: the next turn locks and loads again
		}
		return fmt.Errorf("engine: save session %s: %w", redact(st.id), err)
	}
	st.expires = rec.Expires
	st.dirty = false
	st.stored = true
	return nil
}

// finish ends the outermost turn t (nil for a lazy turn) on st and the
// turns taken inside it. Actors whose session is gone or moved to another ID
// get the tombstone and are retired. Everything is decided before the first
// release: from then on another goroutine may own st.
func (e *Engine) finish(st *state, t *actor.Turn[string, *state]) {
	st.ctx = nil
	extra := st.extra
	st.extra = nil
	if t != nil {
		e.settle(st, t)
	}
	for _, x := range extra {
		e.settle(st, x)
	}
	for _, x := range extra {
		x.Release()
	}
	if t != nil {
		t.Release()
	}
}

// settle gives t's actor the tombstone if its session is no longer st's.
func (e *Engine) settle(st *state, t *actor.Turn[string, *state]) {
	if st.gone || t.Key() != st.id {
		*t.State() = e.tomb
		t.Retire()
	} else if st.lost {
		t.Retire()
	}
}

// expire deletes st's record because it expired.
func (e *Engine) expire(st *state) {
	if err := st.lock.Delete(); err != nil {
		e.cfg.Logger.Error("engine: delete expired session", "session", redact(st.id), "err", err)
	}
	st.lock = nil
	st.gone = true
}

// Regenerate moves the session's data to a new ID and kills the old one,
// which then behaves as destroyed; it returns the new ID. Changes made
// before it in the same turn are written with the new ID, and it is not
// undone by a later error of the turn. With a ctx that carries the turn of
// id, it runs inline, and afterwards the turn's Session reports the new ID.
func (e *Engine) Regenerate(ctx context.Context, id string) (string, error) {
	var newID string
	err := e.Do(ctx, id, func(ctx context.Context, s *Session) error {
		var err error
		newID, err = e.regenerate(ctx, s.st)
		return err
	})
	return newID, err
}

func (e *Engine) regenerate(ctx context.Context, st *state) (string, error) {
	newID := newID()
	t, err := e.adopt(ctx, st, newID)
	if err != nil {
		return "", err
	}
	old := st.lock
	st.id, st.lock = newID, t.lockOf
	st.truncate(0)
	st.extra = append(st.extra, t.turn)
	if err := old.Delete(); err != nil {
		// The new record is in place; the old one will expire or be swept.
		e.cfg.Logger.Error("engine: delete regenerated session", "err", err)
	}
	return newID, nil
}

// adopted is a new ID's turn whose actor holds an existing state.
type adopted struct {
	turn   *actor.Turn[string, *state]
	lockOf persist.Lock
}

// seedKey carries, into the activation of a new ID, the state it adopts.
type seedKey struct{}

type seed struct {
	st   *state
	lock persist.Lock // set by activate
}

// adopt takes the turn of the fresh ID id with st as its state, and writes
// st's values under that ID.
func (e *Engine) adopt(ctx context.Context, st *state, id string) (adopted, error) {
	sd := &seed{st: st}
	t, _, err := e.rt.Acquire(context.WithValue(ctx, seedKey{}, sd), id)
	if err != nil {
		return adopted{}, e.acquireErr(id, err)
	}
	return adopted{turn: t, lockOf: sd.lock}, nil
}

// Destroy deletes the session. Turns queued behind it get ErrNotFound.
// With a ctx that carries the turn of id, it runs inline; the rest of that
// turn sees an empty session whose changes are dropped.
func (e *Engine) Destroy(ctx context.Context, id string) error {
	return e.Do(ctx, id, func(ctx context.Context, s *Session) error {
		return e.destroy(s.st)
	})
}

func (e *Engine) destroy(st *state) error {
	if st.lock != nil {
		if err := st.lock.Delete(); err != nil {
			return fmt.Errorf("engine: destroy session %s: %w", redact(st.id), err)
		}
	}
	st.lock = nil
	st.gone = true
	st.truncate(0)
	st.values = map[string]any{}
	return nil
}

// activate loads session id for its actor, taking the store's lock.
func (e *Engine) activate(ctx context.Context, id string) (*state, error) {
	wanted := func() { e.rt.Retire(id) }
	if sd, ok := ctx.Value(seedKey{}).(*seed); ok && sd.lock == nil {
		return e.activateSeed(ctx, id, sd, wanted)
	}
	lock, err := e.store.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	rec, err := lock.Load()
	if errors.Is(err, persist.ErrNotFound) {
		// Unknown, or corrupt and moved aside: leave no lock file behind.
		lock.Delete()
		if errors.Is(err, persist.ErrCorrupt) {
			e.logCorrupt(err)
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return nil, ErrNotFound
	}
	if err != nil {
		lock.Release()
		return nil, err
	}
	now := e.cfg.Now()
	if rec.Expired(now) || e.cfg.Lifetime > 0 && !now.Before(rec.Created.Add(e.cfg.Lifetime)) {
		if err := lock.Delete(); err != nil {
			e.cfg.Logger.Error("engine: delete expired session", "session", redact(id), "err", err)
		}
		return nil, ErrNotFound
	}
	values, err := decodeValues(rec.Data)
	if err != nil {
		qerr := lock.Quarantine(err)
		e.logCorrupt(qerr)
		return nil, fmt.Errorf("%w: %w", ErrNotFound, qerr)
	}
	st := newState(e, id, values)
	st.lock = lock
	st.created = rec.Created
	st.expires = rec.Expires
	st.used = now
	st.stored = true
	return st, nil
}

// logCorrupt logs a record that was moved aside. The error is returned as
// well: callers treat ErrNotFound as "no session" and move on, and a corrupt
// file needs an operator's attention.
func (e *Engine) logCorrupt(err error) {
	e.cfg.Logger.Error("engine: session record quarantined", "err", err)
}

// activateSeed locks a fresh ID for an existing state and, unless the
// session is being created lazily, writes the state's values under it.
func (e *Engine) activateSeed(ctx context.Context, id string, sd *seed, wanted func()) (*state, error) {
	lock, err := e.store.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	st := sd.st
	if st.id != "" { // Regenerate: the new record exists before the old one dies
		prev := st.lock
		st.lock = lock
		err := e.save(st)
		st.lock = prev
		if err != nil {
			lock.Release()
			return nil, err
		}
	}
	sd.lock = lock
	return st, nil
}

// passivate saves a session's pending changes and releases its lock.
func (e *Engine) passivate(id string, st *state) error {
	if st.gone || st.lock == nil {
		return nil
	}
	now := e.cfg.Now()
	if !now.Before(st.deadline(&e.cfg)) {
		e.expire(st)
		return nil
	}
	var err error
	if !st.lost && (st.dirty || !st.stored || st.deadline(&e.cfg).Sub(st.expires) >= e.touchStep()) {
		err = e.save(st)
		switch {
		case st.lost: // nothing left to keep
			e.cfg.Logger.Error("engine: session dropped: its lock was lost", "err", err)
			err = nil
		case err != nil && !e.closed():
			return err // stay resident; passivation is tried again later
		}
	}
	// When closing, a failed save is reported by Close and the lock is
	// released all the same: a process that stops must not keep it.
	if rerr := st.lock.Release(); rerr != nil && err == nil {
		err = fmt.Errorf("engine: release session %s: %w", redact(id), rerr)
	}
	st.lock = nil
	return err
}

// touchStep is how far a session's expiry must move before passivation
// writes it although nothing changed: reads do not cost a write each.
func (e *Engine) touchStep() time.Duration {
	return max(time.Second, e.cfg.IdleTimeout/64)
}

// Sweep removes expired sessions and the store's litter now, and reports
// what it did. Resident sessions are skipped; they expire when next used or
// passivated.
func (e *Engine) Sweep(ctx context.Context) (persist.SweepReport, error) {
	if e.closed() {
		return persist.SweepReport{}, ErrClosed
	}
	rep, err := e.store.Sweep(ctx, e.cfg.Now())
	if err != nil {
		return rep, fmt.Errorf("engine: sweep: %w", err)
	}
	return rep, nil
}

func (e *Engine) sweeper() {
	defer close(e.done)
	ticker := time.NewTicker(e.cfg.SweepInterval)
	defer ticker.Stop()
	ctx := e.sweepCtx
	for {
		select {
		case <-e.stop:
			return
		case <-ticker.C:
			rep, err := e.store.Sweep(ctx, e.cfg.Now())
			if err != nil && ctx.Err() == nil {
				e.cfg.Logger.Error("engine: sweep", "err", err)
			}
			e.cfg.Logger.Debug("engine: sweep", "expired", rep.Expired, "orphan_locks", rep.OrphanLocks,
				"temp_files", rep.TempFiles, "busy", rep.Busy)
		}
	}
}

// Stats returns a snapshot of the engine's activity.
func (e *Engine) Stats() Stats {
	return Stats{Active: e.rt.Resident()}
}

// Close passivates every session (saving pending changes and releasing
// locks), stops the engine's goroutines and, if Open made the store, closes
// it. It waits for turns in progress. Afterwards every method returns
// ErrClosed. Calling Close again returns the first call's result.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		e.cancelSweep()
		<-e.done
		errs := []error{e.rt.Close()}
		if e.ownsStore {
			errs = append(errs, e.store.Close())
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

func (e *Engine) closed() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}

// acquireErr turns a runtime error into the engine's.
func (e *Engine) acquireErr(id string, err error) error {
	switch {
	case errors.Is(err, actor.ErrClosed):
		return ErrClosed
	case errors.Is(err, actor.ErrTimeout):
		return fmt.Errorf("engine: session %s: %w", redact(id), ErrLockTimeout)
	case errors.Is(err, ErrNotFound):
		return err
	}
	return fmt.Errorf("engine: session %s: %w", redact(id), err)
}

func notFound(id string) error {
	return fmt.Errorf("%w: %s", ErrNotFound, redact(id))
}
