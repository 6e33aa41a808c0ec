package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/redis/go-redis/v9"
)

var (
	_ persist.Inspector           = (*Store)(nil)
	_ persist.QuarantineInspector = (*Store)(nil)
)

// listHead is how much of each record Sessions reads: the header and an
// owner of up to 256 bytes; a record with a longer owner is read whole.
const listHead = headerLen + 256

// Sessions calls fn with the metadata of each stored session whose owner
// is owner (every session for ""), without taking or waiting for any lock,
// and stops at fn's first error. It walks the store's record keys with
// SCAN (on every primary of a Redis Cluster) and reads each batch's
// headers, lengths and lease keys in one pipeline: a pass over the whole
// keyspace whatever owner is, so finding one user's sessions costs what
// listing all of them costs (there is no owner index: see docs/redis.md).
// Records that do not decode are skipped.
func (s *Store) Sessions(ctx context.Context, owner string, fn func(persist.Info) error) error {
	if s.closed.Load() {
		return persist.ErrClosed
	}
	return scanEach(ctx, s, "sessions", s.recPattern(), fn, func(ctx context.Context, c redis.UniversalClient, recs []string, emit func(persist.Info) error) error {
		infos, err := s.infos(ctx, c, recs, owner)
		if err != nil {
			return err
		}
		for _, info := range infos {
			if err := emit(info); err != nil {
				return err
			}
		}
		return nil
	})
}

// scanEach finds the keys matching match with SCAN, on every primary of a
// Redis Cluster, and calls batch with each batch of them; batch reads what
// they hold and passes each item to emit. fn gets the items on the
// caller's goroutine, one at a time, as the other stores call it, and
// without any lock held; once fn fails the scan is cancelled and
// scanEach returns fn's error as it is. Other errors are wrapped with what.
func scanEach[T any](ctx context.Context, s *Store, what, match string, fn func(T) error, batch func(ctx context.Context, c redis.UniversalClient, keys []string, emit func(T) error) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan T)
	scanned := make(chan error, 1)
	go func() { // the scanners; scanEach waits for them below
		emit := func(v T) error {
			select {
			case items <- v:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		scanned <- s.eachNode(ctx, func(ctx context.Context, c redis.UniversalClient) error {
			return scan(ctx, c, match, func(keys []string) error { return batch(ctx, c, keys, emit) })
		})
		close(items)
	}()
	var stop error
	for v := range items {
		if stop == nil {
			if stop = fn(v); stop != nil {
				cancel() // the scanners give up; the loop drains what is in flight
			}
		}
	}
	err := <-scanned
	if stop != nil {
		return stop
	}
	if err != nil {
		return fmt.Errorf("redisstore: %s: %w", what, err)
	}
	return nil
}

// infos reads the Info of each of recs, keeping those of owner (all for
// ""), in one pipeline.
func (s *Store) infos(ctx context.Context, c redis.UniversalClient, recs []string, owner string) ([]persist.Info, error) {
	heads := make([]*redis.StringCmd, len(recs))
	lens := make([]*redis.IntCmd, len(recs))
	locks := make([]*redis.IntCmd, len(recs))
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, rec := range recs {
			heads[i] = p.GetRange(ctx, rec, 0, listHead-1)
			lens[i] = p.StrLen(ctx, rec)
			locks[i] = p.Exists(ctx, strings.TrimSuffix(rec, "rec")+"lock")
		}
		return nil
	}) // errors are the commands'
	var infos []persist.Info
	for i, rec := range recs {
		b, err := heads[i].Bytes()
		if err != nil {
			if isWrongType(err) {
				continue // not a record: Load quarantines it
			}
			return nil, err
		}
		n, err := lens[i].Result()
		if err != nil {
			return nil, err
		}
		locked, err := locks[i].Result()
		if err != nil {
			return nil, err
		}
		h, whole, err := parseHeader(b)
		if err == nil && !whole {
			// An owner longer than listHead: read the record.
			b, err = c.Get(ctx, rec).Bytes()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil && !isWrongType(err) {
				return nil, err
			}
			h, whole, err = parseHeader(b)
		}
		if err != nil || !whole || (owner != "" && h.owner != owner) {
			continue // gone since the SCAN, does not decode, or another's
		}
		infos = append(infos, persist.Info{
			Key: s.keyOf(rec), Owner: h.owner, Created: h.created, Expires: h.expires,
			Bytes: n, Locked: locked == 1,
		})
	}
	return infos, nil
}

// Inspect reads the record of the session key (see persist.Key) without
// locking it: a snapshot, with its Info (Bytes: the stored record's
// length, header included; Locked: a lease is held). It returns an error
// matching persist.ErrNotFound if there is no record, a
// *persist.CorruptError (which matches it too) for one that does not
// decode, and one matching persist.ErrBadKey for a malformed key.
func (s *Store) Inspect(ctx context.Context, key string) (persist.Record, persist.Info, error) {
	if !isKey(key) {
		return persist.Record{}, persist.Info{}, fmt.Errorf("redisstore: inspect %q: %w", key, persist.ErrBadKey)
	}
	if s.closed.Load() {
		return persist.Record{}, persist.Info{}, persist.ErrClosed
	}
	k := s.keysFor(key)
	var get *redis.StringCmd
	var locked *redis.IntCmd
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, k.rec)
		locked = p.Exists(ctx, k.lock)
		return nil
	}) // errors are the commands'
	info := persist.Info{Key: key}
	n, err := locked.Result()
	if err != nil {
		return persist.Record{}, info, fmt.Errorf("redisstore: inspect %s: %w", key, err)
	}
	info.Locked = n == 1
	b, err := get.Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return persist.Record{}, info, fmt.Errorf("redisstore: inspect %s: %w", key, persist.ErrNotFound)
	case isWrongType(err):
		return persist.Record{}, info, &persist.CorruptError{Path: k.rec, Err: fmt.Errorf("%w: %v", errRecord, err)}
	case err != nil:
		return persist.Record{}, info, fmt.Errorf("redisstore: inspect %s: %w", key, err)
	}
	info.Bytes = int64(len(b))
	rec, _, err := parseRecord(b)
	if err != nil {
		return persist.Record{}, info, &persist.CorruptError{Path: k.rec, Err: err}
	}
	info.Owner, info.Created, info.Expires = rec.Owner, rec.Created, rec.Expires
	return rec, info, nil
}

// LockKey is Lock for the session whose key (see persist.Key) is key: an
// operator's way to a session known only by its key. It returns an error
// matching persist.ErrBadKey for a malformed key.
func (s *Store) LockKey(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	if !isKey(key) {
		return nil, fmt.Errorf("redisstore: lock %q: %w", key, persist.ErrBadKey)
	}
	return s.lock(ctx, s.keysFor(key), wanted)
}

// Quarantined calls fn with each record set aside (renamed to
// <prefix>{<key>}:corrupt:<unix nanos>) for the session key, or for every
// session when key is "", found with SCAN as Sessions finds records,
// without taking any lock; it stops at fn's first error.
func (s *Store) Quarantined(ctx context.Context, key string, fn func(persist.Quarantined) error) error {
	match := globEscape(s.prefix) + "{*}:corrupt:*"
	if key != "" {
		if !isKey(key) {
			return fmt.Errorf("redisstore: quarantined %q: %w", key, persist.ErrBadKey)
		}
		match = globEscape(s.prefix) + "{" + key + "}:corrupt:*"
	}
	if s.closed.Load() {
		return persist.ErrClosed
	}
	return scanEach(ctx, s, "quarantined", match, fn, func(ctx context.Context, c redis.UniversalClient, names []string, emit func(persist.Quarantined) error) error {
		for _, name := range names {
			q, ok, err := s.quarantined(ctx, c, name)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := emit(q); err != nil {
				return err
			}
		}
		return nil
	})
}

// quarantined reads the quarantined record name; ok is false if it is
// gone or not named as this store names them.
func (s *Store) quarantined(ctx context.Context, c redis.UniversalClient, name string) (persist.Quarantined, bool, error) {
	at, ok := quarantineTime(name)
	key := s.keyOf(name)
	if !ok || key == "" {
		return persist.Quarantined{}, false, nil
	}
	q := persist.Quarantined{Key: key, Name: name, Time: at}
	b, err := c.Get(ctx, name).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return q, false, nil
	case isWrongType(err):
		q.Err = fmt.Errorf("%w: %v", errRecord, err)
		return q, true, nil
	case err != nil:
		return q, false, err
	}
	q.Bytes = int64(len(b))
	q.Record, _, q.Err = parseRecord(b)
	return q, true, nil
}
