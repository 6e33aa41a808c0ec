package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/redis/go-redis/v9"
)

// sweepBatch is the COUNT hint of each SCAN of a sweep.
const sweepBatch = 1000

// Sweep removes the records that have expired at now and that nobody
// holds, and counts those it skipped because they are held (Busy). Redis
// has usually removed them already, when the TTL set at their expiry ran
// out: Sweep matters only for a clock that is not Redis's (an engine's
// Config.Now in tests) and otherwise finds nothing, so the engine's
// sweeper can be disabled on this store (engine.Config.SweepInterval -1).
// It walks the store's keys with SCAN (on every primary of a Redis
// Cluster), so it costs a pass over the keyspace. Lease and request keys
// expire by themselves: there are no orphans and no temp files. Sweep
// returns persist.ErrClosed after Close.
func (s *Store) Sweep(ctx context.Context, now time.Time) (persist.SweepReport, error) {
	if s.closed.Load() {
		return persist.SweepReport{}, persist.ErrClosed
	}
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return s.sweep(ctx, s.client, now)
	}
	var mu sync.Mutex // guards rep, written by ForEachMaster's goroutines
	var rep persist.SweepReport
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		r, err := s.sweep(ctx, c, now)
		mu.Lock()
		rep = rep.Add(r)
		mu.Unlock()
		return err
	})
	return rep, err
}

// sweep sweeps the keys that c's SCAN sees.
func (s *Store) sweep(ctx context.Context, c redis.UniversalClient, now time.Time) (persist.SweepReport, error) {
	var rep persist.SweepReport
	var errs []error
	it := c.Scan(ctx, 0, globEscape(s.prefix)+"{*}:rec", sweepBatch).Iterator()
	for it.Next(ctx) {
		rec := it.Val()
		lock := strings.TrimSuffix(rec, "rec") + "lock"
		n, err := sweepScript.Run(ctx, c, []string{lock, rec}, unixNanos(now)).Int64()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("redisstore: sweep %s: %w", rec, err))
			if ctx.Err() != nil {
				return rep, errors.Join(errs...)
			}
		case n == 1:
			rep.Expired++
		case n == -1:
			rep.Busy++
		}
	}
	if err := it.Err(); err != nil {
		errs = append(errs, fmt.Errorf("redisstore: sweep: %w", err))
	}
	return rep, errors.Join(errs...)
}

// globEscape quotes the characters that SCAN's MATCH pattern would read as
// a glob.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
