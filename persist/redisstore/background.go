package redisstore

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// subscribe is the subscription goroutine: it passes hand-over requests
// ("w"+key+":"+store) to holders of this Store and wake-ups ("f"+key) to its waiters.
// Each (re)subscription wakes every waiter, which then retries and asks
// again: messages published while the connection was down are lost. It
// ends when Close closes the subscription.
func (s *Store) subscribe() {
	defer s.wg.Done()
	ctx := context.Background()
	backoff := minResubscribe
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	failing := false
	for {
		msg, err := s.ps.Receive(ctx)
		if s.closed.Load() {
			return
		}
		if err != nil {
			// go-redis reconnects on the next Receive; wait first, so that
			// a Redis that is down is not dialled in a loop.
			if !failing {
				s.log.Warn("redisstore: hand-over subscription lost, waiters poll until it is back", "err", err)
				failing = true
			}
			timer.Reset(backoff)
			select {
			case <-s.done:
				return
			case <-timer.C:
			}
			backoff = min(2*backoff, maxResubscribe)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if failing {
				s.log.Info("redisstore: hand-over subscription back")
			}
			failing = false
			backoff = minResubscribe
			s.waiters.WakeAll()
		case *redis.Message:
			s.handle(m.Payload)
		}
	}
}

// handle acts on one message of the hand-over channel (see
// persist.Waiters.Notice).
func (s *Store) handle(payload string) { s.waiters.Notice(payload, s.id, s.request) }

// renew is the lease renewal goroutine: every third of LeaseTTL it renews
// the leases of every session held through this Store in one pipeline,
// passes on the hand-over requests the subscription may have missed, and
// tells the holders of leases that are gone, or that could not be renewed
// for LeaseTTL, to let go (their wanted is called). It also pings the subscription's connection, which
// makes go-redis notice a dead one. It ends when Close is called.
func (s *Store) renew() {
	defer s.wg.Done()
	ticker := time.NewTicker(s.ttl / 3)
	defer ticker.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-ticker.C:
			s.renewAll()
		}
	}
}

// renewAll renews every held lease once.
func (s *Store) renewAll() {
	ls := s.held.Locks()
	ls = slices.DeleteFunc(ls, func(l *lock) bool { return l.lost.Load() })

	ctx, cancel := context.WithTimeout(context.Background(), s.ttl/3)
	defer cancel()
	if err := s.ps.Ping(ctx); err != nil && !s.closed.Load() {
		s.log.Debug("redisstore: ping subscription", "err", err)
	}
	if len(ls) == 0 {
		return
	}
	start := s.now()
	cmds, err := s.runRenewals(ctx, ls)
	if err != nil && isNoScript(err) {
		// Redis restarted and lost its script cache: load and retry once.
		if lerr := renewScript.Load(ctx, s.client).Err(); lerr == nil {
			cmds, err = s.runRenewals(ctx, ls)
		}
	}
	// A lock released (or being released) since the snapshot above is no
	// longer this Store's to act on: its -1 is its own release, not a lost
	// lease, and its wanted would retire by ID a session that this process
	// may have taken again since. Only the locks still held are acted on.
	// (One released after this check can still see its wanted called once,
	// as one released while a hand-over request is passed on can.)
	held := s.stillHeld(ls)
	var failed error
	for i, c := range cmds {
		l := ls[i]
		n, err := c.Int64()
		switch {
		case err != nil:
			failed = err
		case !held[i]:
		case n == -1:
			l.lost.Store(true)
			s.log.Warn("redisstore: lease lost while held", "key", l.k.key)
			if l.wanted != nil {
				l.wanted()
			}
		case n == 1:
			l.renewed.Store(start)
			if l.wanted != nil {
				l.wanted()
			}
		default:
			l.renewed.Store(start)
		}
	}
	if failed == nil {
		failed = err
	}
	// A lease not renewed for LeaseTTL (Redis is down or cut off) has run
	// out by now: its holder must stop serving the session from memory.
	now := s.now()
	for i, l := range ls {
		if held[i] && !l.lost.Load() && now-l.renewed.Load() >= int64(s.ttl) {
			l.lost.Store(true)
			s.log.Warn("redisstore: lease ran out: Redis could not be reached to renew it", "key", l.k.key)
			if l.wanted != nil {
				l.wanted()
			}
		}
	}
	if failed != nil && !s.closed.Load() {
		s.log.Warn("redisstore: renew leases", "sessions", len(ls), "err", failed)
	}
}

// stillHeld reports, for each of ls, whether it still holds its session
// through s and is not being released.
func (s *Store) stillHeld(ls []*lock) []bool {
	held := make([]bool, len(ls))
	for i, l := range ls {
		held[i] = s.held.Holder(l.k.key) == l && !l.ending.Load()
	}
	return held
}

// runRenewals sends one renewal per lock in one pipeline.
func (s *Store) runRenewals(ctx context.Context, ls []*lock) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(ls))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, l := range ls {
			cmds[i] = renewScript.EvalSha(ctx, p, []string{l.k.lock, l.k.want}, l.token, s.ttlMS)
		}
		return nil
	})
	return cmds, err
}

func isNoScript(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && redis.HasErrorPrefix(rerr, "NOSCRIPT")
}
