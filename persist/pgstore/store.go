package pgstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lockstep-go/lockstep/persist"
)

// Defaults for the zero fields of Config.
const (
	DefaultTable            = "lockstep_sessions"
	DefaultLeaseTTL         = 10 * time.Second
	DefaultStatementTimeout = 5 * time.Second
)

// minLeaseTTL is the shortest lease New accepts: leases are set in
// milliseconds and renewed every third of their length.
const minLeaseTTL = 30 * time.Millisecond

// poll is how a waiting Lock polls when no wake-up arrives: the first retry
// comes after 2ms, each next one after twice as long, up to 250ms; the
// request to hand over is repeated every 250ms.
var poll = persist.Poll{Min: 2 * time.Millisecond, Max: 250 * time.Millisecond, Factor: 2, Reannounce: 250 * time.Millisecond}

// wantPoll is how often a holder looks for hand-over requests in the table
// while notifications do not reach it (behind PgBouncer in transaction
// mode).
const wantPoll = 250 * time.Millisecond

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// Table is the table that holds the sessions, created with its
	// indexes by New if missing; it may be schema-qualified
	// ("schema.name"). Records set aside go to <Table>_quarantine.
	// Default "lockstep_sessions".
	Table string

	// LeaseTTL is the length of the lease that a holder keeps on each
	// session it holds, renewed every third of it while held. A holder
	// that dies (or is paused, or cut off) loses its sessions this long
	// after its last renewal, and cannot write them afterwards. At least
	// 30ms. Default 10 seconds.
	LeaseTTL time.Duration

	// StatementTimeout bounds each statement the Store sends (a Lock's
	// Save waits no longer for a server that does not answer). Default 5
	// seconds, or LeaseTTL when that is shorter.
	StatementTimeout time.Duration

	// Logger receives what the store handles without returning it
	// (renewals, the listener's connection). Nil means slog.Default().
	Logger *slog.Logger
}

// Store is a persist.Store that keeps sessions in PostgreSQL, so that
// engines on several hosts can share them. A session held by one engine is
// leased to it; another engine that wants the session asks the holder to
// hand it over. See the package documentation and docs/postgres.md.
//
// All methods are safe for concurrent use. A Store runs two goroutines (its
// listener and its lease renewal) until Close.
type Store struct {
	pool    *pgxpool.Pool
	connCfg *pgx.ConnConfig // for the listener's own connection
	q       queries
	table   string // as configured, for messages
	ttl     time.Duration
	ttlMS   int64
	timeout time.Duration
	channel string // the hand-over channel
	id      string // names this Store in its hand-over requests
	log     *slog.Logger
	epoch   time.Time // monotonic origin of lock.renewed

	listening atomic.Bool  // a probe found that notifications arrive
	probes    atomic.Int64 // probes done, for tests

	done   chan struct{}      // closed by Close
	stop   context.CancelFunc // cancels the listener's context
	wg     sync.WaitGroup
	closed atomic.Bool
	once   sync.Once

	held persist.Holders[*lock] // by key: sessions held (or being locked) through this Store

	waiters persist.Waiters // by key: Locks of this Store waiting
}

var _ persist.Store = (*Store)(nil)

// New returns a Store over pool, which the caller owns and closes after the
// Store. It creates the tables, their indexes and the save function if
// any is missing (in one transaction under a transaction-level advisory
// lock, so that processes starting together do not collide), opens its own connection for
// LISTEN from pool.Config().ConnConfig, and starts renewing leases; the
// Store must be closed.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	name, err := parseTable(cfg.Table)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.LeaseTTL == 0:
		cfg.LeaseTTL = DefaultLeaseTTL
	case cfg.LeaseTTL < minLeaseTTL:
		return nil, fmt.Errorf("pgstore: lease TTL %v is shorter than %v", cfg.LeaseTTL, minLeaseTTL)
	}
	switch {
	case cfg.StatementTimeout < 0:
		return nil, fmt.Errorf("pgstore: negative statement timeout %v", cfg.StatementTimeout)
	case cfg.StatementTimeout == 0:
		cfg.StatementTimeout = min(DefaultStatementTimeout, cfg.LeaseTTL)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sum := sha256.Sum256([]byte(cfg.Table))
	s := &Store{
		pool:    pool,
		connCfg: pool.Config().ConnConfig.Copy(),
		q:       newQueries(name),
		table:   cfg.Table,
		ttl:     cfg.LeaseTTL,
		ttlMS:   cfg.LeaseTTL.Milliseconds(),
		timeout: cfg.StatementTimeout,
		channel: "lockstep_" + hex.EncodeToString(sum[:8]),
		id:      newToken()[:16],
		log:     cfg.Logger,
		epoch:   time.Now(),
		done:    make(chan struct{}),
	}
	if err := s.create(ctx); err != nil {
		return nil, err
	}
	lctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.wg.Add(2)
	go s.listen(lctx)
	go s.renew()
	return s, nil
}

// create creates the tables, indexes and save function, if any is
// missing, in one transaction serialised by an advisory lock on the
// table's name; if none is, it creates nothing (so a role without CREATE
// can use tables made for it).
func (s *Store) create(ctx context.Context) error {
	var exist *bool
	if err := s.pool.QueryRow(ctx, s.q.exist, pgx.QueryExecModeExec, s.q.objects, s.q.saveFn).Scan(&exist); err != nil {
		return fmt.Errorf("pgstore: look for table %s: %w", s.table, err)
	}
	if exist != nil && *exist {
		return nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: create table %s: %w", s.table, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, pgx.QueryExecModeExec, "lockstep:"+s.table); err != nil {
		return fmt.Errorf("pgstore: create table %s: %w", s.table, err)
	}
	for _, stmt := range s.q.ddl {
		if _, err := tx.Exec(ctx, stmt, pgx.QueryExecModeExec); err != nil {
			return fmt.Errorf("pgstore: create table %s: %w", s.table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: create table %s: %w", s.table, err)
	}
	return nil
}

// Close stops the listener and the lease renewal and waits for them.
// Lock and Sweep return persist.ErrClosed afterwards, and so do Locks still
// waiting. Locks still held can be used and released, but their leases are
// no longer renewed: release them within LeaseTTL. Close does not close
// the pool. It is idempotent.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.done)
		s.stop()
		s.wg.Wait()
	})
	return nil
}

// Lock takes the lease of session id, waiting while another holder, in
// this or another process, has it. A waiting Lock asks the holder to hand
// over (the holder's wanted is called) and is woken when it releases; when
// no wake-up arrives it polls, from 2ms backing off (x2) to 250ms, asking
// again every 250ms. A holder that died loses its lease LeaseTTL after its
// last renewal. Errors from the server end the wait at once.
func (s *Store) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	return s.lock(ctx, persist.Key(id), wanted)
}

// lock is Lock for the session of key.
func (s *Store) lock(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	if s.closed.Load() {
		return nil, persist.ErrClosed
	}
	l := &lock{s: s, key: key, token: newToken(), wanted: wanted, version: -1}
	waited, err := s.waiters.Wait(ctx, key, s.done, poll, l.take)
	l.waited = waited
	switch {
	case errors.Is(err, persist.ErrClosed):
		return nil, err
	case err != nil:
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("pgstore: lock session %s: %w", key, err)
	}
	return l, nil
}

// take tries once to take the lease: true if it is now l's. If it is taken
// and announce is set, it asks the holder to hand over.
func (l *lock) take(ctx context.Context, announce bool) (bool, error) {
	s := l.s
	if h := s.held.Begin(l.key); h != nil {
		// Held through this Store: the server would say no; ask the holder.
		if announce && h.wanted != nil {
			h.wanted()
		}
		return false, nil
	}

	// The lease starts when the server runs the statement, which is after
	// this: timing it from here errs on the short side.
	start := s.now()
	got, err := l.takeRow(ctx)
	if got {
		l.renewed.Store(start) // before the renewer can see l
	}

	if s.held.End(l.key, l, got) && l.wanted != nil {
		l.wanted()
	}
	if err == nil && !got && announce {
		err = s.ask(ctx, l.key)
	}
	return got, err
}

// takeRow runs the take statement, keeping the record it returns.
func (l *lock) takeRow(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, l.s.timeout)
	defer cancel()
	var r row
	err := l.s.pool.QueryRow(ctx, l.s.q.take, pgx.QueryExecModeExec, l.key, l.token, l.s.ttlMS).
		Scan(&r.data, &r.owner, &r.created, &r.expires, &r.version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	l.version = r.version
	l.pre, l.prefetched = r, true
	return true, nil
}

// ask marks the session's row as wanted and notifies its holder.
func (s *Store) ask(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.pool.Exec(ctx, s.q.ask, pgx.QueryExecModeExec, key, s.channel, "w"+key+":"+s.id)
	return err
}

// request passes a hand-over request for key to its holder in this Store,
// or remembers it for a Lock that is taking the lease right now.
func (s *Store) request(key string) {
	if h := s.held.Request(key); h != nil && h.wanted != nil {
		h.wanted()
	}
}

// forget drops l from the held sessions and wakes the waiters of its key
// in this Store.
func (s *Store) forget(l *lock) {
	s.held.Forget(l.key, l)
	s.waiters.Wake(l.key)
}

// now returns the monotonic time since the Store's epoch, in nanoseconds.
func (s *Store) now() int64 { return int64(time.Since(s.epoch)) }

// statement returns a context bounded by the statement timeout.
func (s *Store) statement() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// newToken returns a random lease token: it identifies one Lock, in any
// process, for as long as the lease lives.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// isKey reports whether key has the form of persist.Key's result.
func isKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	for i := range len(key) {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
