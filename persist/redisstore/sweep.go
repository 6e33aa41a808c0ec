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
	var mu sync.Mutex // guards rep, written by eachNode's goroutines on a cluster
	var rep persist.SweepReport
	err := s.eachNode(ctx, func(ctx context.Context, c redis.UniversalClient) error {
		r, err := s.sweep(ctx, c, now)
		mu.Lock()
		rep = rep.Add(r)
		mu.Unlock()
		return err
	})
	return rep, err
}

// eachNode calls fn with the client itself, or on a Redis Cluster with a
// client of each primary, concurrently: what SCAN must walk.
func (s *Store) eachNode(ctx context.Context, fn func(ctx context.Context, c redis.UniversalClient) error) error {
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return fn(ctx, s.client)
	}
	return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return fn(ctx, c) })
}

// sweep sweeps the keys that c's SCAN sees: for each batch, one pipeline
// reads the records' headers, and one script per expired record deletes
// it unless it is held or was written since.
func (s *Store) sweep(ctx context.Context, c redis.UniversalClient, now time.Time) (persist.SweepReport, error) {
	var rep persist.SweepReport
	var errs []error
	err := scan(ctx, c, s.recPattern(), func(recs []string) error {
		heads, err := readHeads(ctx, c, recs, listHead)
		if err != nil {
			errs = append(errs, fmt.Errorf("redisstore: sweep: %w", err))
			return nil
		}
		for i, rec := range recs {
			h, whole, err := parseHeader(heads[i])
			if err != nil || h.expires.IsZero() || now.Before(h.expires) {
				continue // gone, does not decode (Load quarantines it), or alive
			}
			if !whole { // an owner longer than listHead
				b, err := c.Get(ctx, rec).Bytes()
				if err != nil {
					continue // gone since, or of another type
				}
				if h, whole, err = parseHeader(b); err != nil || !whole {
					continue
				}
			}
			lock := strings.TrimSuffix(rec, "rec") + "lock"
			n, err := sweepScript.Run(ctx, c, []string{lock, rec}, heads[i][:fenceLen]).Int64()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("redisstore: sweep %s: %w", rec, err))
				if ctx.Err() != nil {
					return ctx.Err()
				}
			case n > 0:
				rep.Expired++
				rep.Removed = append(rep.Removed, persist.Info{
					Key: s.keyOf(rec), Owner: h.owner, Created: h.created, Expires: h.expires,
					Bytes: n - int64(h.dataOff),
				})
			case n == -1:
				rep.Busy++
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("redisstore: sweep: %w", err))
	}
	return rep, errors.Join(errs...)
}

// recPattern matches the record keys of the store's sessions.
func (s *Store) recPattern() string { return globEscape(s.prefix) + "{*}:rec" }

// scan calls fn with the keys matching match that c's SCAN returns, a
// batch at a time, until fn returns an error.
func scan(ctx context.Context, c redis.UniversalClient, match string, fn func(keys []string) error) error {
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, match, sweepBatch).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// readHeads reads the first n bytes of each of recs in one pipeline: nil
// for a key that is gone or holds another type.
func readHeads(ctx context.Context, c redis.UniversalClient, recs []string, n int) ([][]byte, error) {
	cmds := make([]*redis.StringCmd, len(recs))
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, rec := range recs {
			cmds[i] = p.GetRange(ctx, rec, 0, int64(n-1))
		}
		return nil
	}) // errors are the commands'
	heads := make([][]byte, len(recs))
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		switch {
		case err != nil && !isWrongType(err):
			return nil, err
		case err == nil && len(b) > 0:
			heads[i] = b
		}
	}
	return heads, nil
}

func isWrongType(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && redis.HasErrorPrefix(rerr, "WRONGTYPE")
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
