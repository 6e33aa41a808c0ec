package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/redis/go-redis/v9"
)

// Defaults for the zero fields of Config.
const (
	DefaultPrefix   = "lockstep:"
	DefaultLeaseTTL = 10 * time.Second
)

// minLeaseTTL is the shortest lease New accepts: leases are set in
// milliseconds and renewed every third of their length.
const minLeaseTTL = 10 * time.Millisecond

// poll is how a waiting Lock polls when no wake-up arrives (a message lost
// while the subscription reconnects): the first retry comes after 2ms, each
// next one after four times as long, up to 100ms; it publishes its request
// to hand over again every 250ms.
var poll = persist.Poll{Min: 2 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 4, Reannounce: 250 * time.Millisecond}

// wantTTL is how long the request flag a waiting Lock sets lives, so that
// a flag left by a waiter that gave up soon stops asking.
const wantTTL = time.Second

// releaseWait is the longest Release waits for Redis: a release that takes
// longer finishes in the background (the lease runs out otherwise).
const releaseWait = 50 * time.Millisecond

// Subscription reconnects back off from minResubscribe to maxResubscribe
// while Redis cannot be reached.
const (
	minResubscribe = 10 * time.Millisecond
	maxResubscribe = time.Second
)

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// Prefix starts every key and the hand-over channel, so that several
	// applications (or several stores of one) can share a Redis. It must
	// not contain '{' or '}', which would change the keys' hash slot.
	// Default "lockstep:".
	Prefix string

	// LeaseTTL is the length of the lease that a holder keeps on each
	// session it holds, renewed every third of it while held. A holder
	// that dies (or is paused, or cut off) loses its sessions this long
	// after its last renewal, and cannot write them afterwards. At least
	// 10ms. Default 10 seconds.
	LeaseTTL time.Duration

	// Logger receives what the store handles without returning it
	// (renewals and subscription trouble). Nil means slog.Default().
	Logger *slog.Logger

	// WaitReplicas, when above 0, makes every write that a holder's
	// correctness depends on (taking a lease, a save, a delete, a
	// quarantine) wait until this many replicas of the session's primary
	// have it: WAIT, in the same round trip and on the same connection as
	// the write. A write that fewer replicas acknowledge within WaitTimeout
	// fails with an error matching ErrNotReplicated. Set it to the number
	// of replicas that a failover can promote: then a failover loses no
	// acknowledged write (docs/redis.md). The client must be a
	// *redis.Client (a single server, or redis.NewFailoverClient) or a
	// *redis.ClusterClient. Default 0: no WAIT.
	WaitReplicas int

	// WaitTimeout is how long WAIT waits for the replicas when
	// WaitReplicas > 0. It must stay well below the client's ReadTimeout,
	// which bounds the round trip. Default 100ms (DefaultWaitTimeout).
	WaitTimeout time.Duration
}

// Store is a persist.Store that keeps sessions in Redis, so that engines on
// several hosts can share them. A session held by one engine is leased to
// it; another engine that wants the session asks the holder, over Redis
// pub/sub, to hand it over. See the package documentation and
// docs/redis.md.
//
// All methods are safe for concurrent use. A Store runs two goroutines (its
// subscription and its lease renewal) until Close.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	ttl     time.Duration
	ttlMS   string // ttl in milliseconds, as a script argument
	channel string // the hand-over channel
	id      string // names this Store in its hand-over requests
	log     *slog.Logger
	epoch   time.Time // monotonic origin of lock.renewed

	waitN       int                  // Config.WaitReplicas
	waitTimeout time.Duration        // Config.WaitTimeout
	single      *redis.Client        // client, for WAIT, unless it is a Cluster's
	cluster     *redis.ClusterClient // client, for WAIT, if it is a Cluster's

	ps     *redis.PubSub
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup
	closed atomic.Bool
	once   sync.Once

	held persist.Holders[*lock] // by key: sessions held (or being locked) through this Store

	waiters persist.Waiters // by key: Locks of this Store waiting

	relMu    sync.Mutex     // guards relDone, so that releases.Add comes before Close's releases.Wait
	relDone  bool           // Close waits for the releases: new ones run in the foreground
	releases sync.WaitGroup // releases running in the background
}

var _ persist.Store = (*Store)(nil)

// New returns a Store over client, which the caller owns and closes after
// the Store. It subscribes to the store's hand-over channel and starts
// renewing leases; the Store must be closed.
func New(client redis.UniversalClient, cfg Config) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q contains a brace (it would change the keys' hash slot)", cfg.Prefix)
	}
	switch {
	case cfg.LeaseTTL == 0:
		cfg.LeaseTTL = DefaultLeaseTTL
	case cfg.LeaseTTL < minLeaseTTL:
		return nil, fmt.Errorf("redisstore: lease TTL %v is shorter than %v", cfg.LeaseTTL, minLeaseTTL)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.WaitReplicas < 0 || cfg.WaitTimeout < 0 {
		return nil, fmt.Errorf("redisstore: negative WaitReplicas (%d) or WaitTimeout (%v)", cfg.WaitReplicas, cfg.WaitTimeout)
	}
	if cfg.WaitReplicas > 0 && cfg.WaitTimeout == 0 {
		cfg.WaitTimeout = DefaultWaitTimeout
	}
	single, _ := client.(*redis.Client)
	cluster, _ := client.(*redis.ClusterClient)
	if cfg.WaitReplicas > 0 && single == nil && cluster == nil {
		return nil, fmt.Errorf("redisstore: WaitReplicas needs a *redis.Client or a *redis.ClusterClient, not a %T", client)
	}
	s := &Store{
		waitN:       cfg.WaitReplicas,
		waitTimeout: cfg.WaitTimeout,
		single:      single,
		cluster:     cluster,
		client:      client,
		prefix:      cfg.Prefix,
		ttl:         cfg.LeaseTTL,
		ttlMS:       strconv.FormatInt(cfg.LeaseTTL.Milliseconds(), 10),
		channel:     cfg.Prefix + "handover",
		id:          newToken()[:16],
		log:         cfg.Logger,
		epoch:       time.Now(),
		done:        make(chan struct{}),
	}
	// Subscribe sends SUBSCRIBE now if it can; if Redis is down, the
	// subscriber retries, and waiters poll meanwhile.
	s.ps = client.Subscribe(context.Background(), s.channel)
	s.wg.Add(2)
	go s.subscribe()
	go s.renew()
	return s, nil
}

// Close stops the subscription and the lease renewal and waits for them.
// Lock and Sweep return persist.ErrClosed afterwards, and so do Locks still
// waiting. Locks still held can be used and released, but their leases are
// no longer renewed: release them within LeaseTTL. Close does not close the
// client. It is idempotent.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.done)
		err = s.ps.Close()
		s.wg.Wait()
		s.relMu.Lock()
		s.relDone = true // no release starts in the background from now on
		s.relMu.Unlock()
		s.releases.Wait()
		if err != nil {
			err = fmt.Errorf("redisstore: close subscription: %w", err)
		}
	})
	return err
}

// Lock takes the lease of session id, waiting while another holder, in
// this or another process, has it. A waiting Lock asks the holder to hand
// over (the holder's wanted is called) and is woken when it releases; when
// no wake-up arrives it polls, from 2ms backing off (x4) to 100ms. A holder
// that died loses its lease LeaseTTL after its last renewal. Errors from
// Redis end the wait at once.
func (s *Store) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	return s.lock(ctx, s.keysOf(id), wanted)
}

// lock is Lock for the session of k.
func (s *Store) lock(ctx context.Context, k sessionKeys, wanted func()) (persist.Lock, error) {
	if s.closed.Load() {
		return nil, persist.ErrClosed
	}
	l := newLock(s, k, wanted)
	waited, err := s.waiters.Wait(ctx, l.k.key, s.done, poll, l.take)
	l.waited = waited
	switch {
	case errors.Is(err, persist.ErrClosed):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("redisstore: lock session %s: %w", l.k.key, err)
	}
	return l, nil
}

// take runs the lock script once: true if the lease is now l's.
func (l *lock) take(ctx context.Context, announce bool) (bool, error) {
	s := l.s
	// Announce the attempt locally first, so that a request that arrives
	// between the script and the bookkeeping below is not lost.
	if h := s.held.Begin(l.k.key); h != nil {
		// Held through this Store: Redis would say no; ask the holder.
		if announce && h.wanted != nil {
			h.wanted()
		}
		return false, nil
	}

	ann := "0"
	if announce {
		ann = "1"
	}
	// The lease starts when Redis runs the script, which is after this:
	// timing it from here, not from the reply, errs on the short side.
	start := s.now()
	reply, acks, err := s.write(ctx, lockScript, l.k.lock, []any{"evalsha", lockScript.Hash(), "3", l.k.lock, l.k.rec, l.k.want,
		l.token, s.ttlMS, ann, s.channel, "w" + l.k.key + ":" + s.id, wantTTL.Milliseconds()})
	var got bool
	if err == nil {
		got, err = l.took(reply, start)
	}
	if got && acks < int64(s.waitN) {
		// Taken, but not replicated: a failover may hand the lease to
		// another. It is not held; let it go at once, so that others need
		// not wait out LeaseTTL.
		got, err = false, fmt.Errorf("%d of %d replicas acknowledged within %v: %w", acks, s.waitN, s.waitTimeout, ErrNotReplicated)
		_, _, _ = s.write(ctx, releaseScript, l.k.lock, l.endArgs(releaseScript, nil))
	}

	if s.held.End(l.k.key, l, got) && l.wanted != nil {
		l.wanted()
	}
	return got, err
}

// took interprets the lock script's reply, keeping the record it read;
// start is Store.now() from before the script was sent.
func (l *lock) took(reply any, start int64) (bool, error) {
	res, ok := reply.([]any)
	if !ok || len(res) == 0 {
		return false, fmt.Errorf("redisstore: lock script: empty reply")
	}
	if n, _ := res[0].(int64); n != 1 {
		return false, nil
	}
	if len(res) < 2 {
		return false, fmt.Errorf("redisstore: lock script: short reply")
	}
	l.prefetched = true
	l.pre = l.fetched(res[1])
	l.renewed.Store(start)
	return true, nil
}

// request passes a hand-over request for key to its holder in this Store,
// or remembers it for a Lock that is taking the lease right now.
func (s *Store) request(key string) {
	if h := s.held.Request(key); h != nil && h.wanted != nil {
		h.wanted()
	}
}

// forget drops l from the held sessions and wakes the waiters of its key.
func (s *Store) forget(l *lock) {
	s.held.Forget(l.k.key, l)
	s.waiters.Wake(l.k.key)
}

// now returns the monotonic time since the Store's epoch, in nanoseconds.
func (s *Store) now() int64 { return int64(time.Since(s.epoch)) }

// newToken returns a random lease token: it identifies one Lock, in any
// process, for as long as the lease lives.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
