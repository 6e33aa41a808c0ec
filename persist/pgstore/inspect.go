package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lockstep-go/lockstep/persist"
)

var (
	_ persist.Inspector           = (*Store)(nil)
	_ persist.QuarantineInspector = (*Store)(nil)
)

// Sessions calls fn with the metadata of each stored session whose owner
// is owner (every session for ""), without taking or waiting for any lock,
// and stops at fn's first error. It reads the table in batches of 1000 in
// key order (through the owner index when owner is set), and calls fn
// between the batches' statements, holding no connection.
func (s *Store) Sessions(ctx context.Context, owner string, fn func(persist.Info) error) error {
	if s.closed.Load() {
		return persist.ErrClosed
	}
	after := ""
	for {
		infos, err := s.listBatch(ctx, owner, after)
		if err != nil {
			return fmt.Errorf("pgstore: sessions: %w", err)
		}
		for _, info := range infos {
			if err := fn(info); err != nil {
				return err
			}
		}
		if len(infos) < listBatch {
			return nil
		}
		after = infos[len(infos)-1].Key
	}
}

// listBatch reads the Info of up to listBatch sessions after key after.
func (s *Store) listBatch(ctx context.Context, owner, after string) ([]persist.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	sql, args := s.q.list, []any{pgx.QueryExecModeExec, after, listBatch}
	if owner != "" {
		sql, args = s.q.listOwner, append(args, owner)
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var (
		infos            []persist.Info
		info             persist.Info
		created, expires *int64
	)
	_, err = pgx.ForEachRow(rows, []any{&info.Key, &info.Owner, &created, &expires, &info.Bytes, &info.Locked}, func() error {
		info.Created, info.Expires = fromNanos(created), fromNanos(expires)
		infos = append(infos, info)
		return nil
	})
	return infos, err
}

// Inspect reads the record of the session key (see persist.Key) without
// locking it: a snapshot, with its Info (Bytes: the size of the data;
// Locked: a lease is held). It returns an error matching
// persist.ErrNotFound if there is no record, and one matching
// persist.ErrBadKey for a malformed key.
func (s *Store) Inspect(ctx context.Context, key string) (persist.Record, persist.Info, error) {
	if !isKey(key) {
		return persist.Record{}, persist.Info{}, fmt.Errorf("pgstore: inspect %q: %w", key, persist.ErrBadKey)
	}
	if s.closed.Load() {
		return persist.Record{}, persist.Info{}, persist.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var r row
	info := persist.Info{Key: key}
	err := s.pool.QueryRow(ctx, s.q.inspect, pgx.QueryExecModeExec, key).
		Scan(&r.data, &r.owner, &r.created, &r.expires, &info.Locked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return persist.Record{}, info, fmt.Errorf("pgstore: inspect %s: %w", key, persist.ErrNotFound)
	case err != nil:
		return persist.Record{}, info, fmt.Errorf("pgstore: inspect %s: %w", key, err)
	}
	rec := r.record()
	info.Owner, info.Created, info.Expires, info.Bytes = rec.Owner, rec.Created, rec.Expires, int64(len(rec.Data))
	return rec, info, nil
}

// LockKey is Lock for the session whose key (see persist.Key) is key: an
// operator's way to a session known only by its key. It returns an error
// matching persist.ErrBadKey for a malformed key.
func (s *Store) LockKey(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	if !isKey(key) {
		return nil, fmt.Errorf("pgstore: lock %q: %w", key, persist.ErrBadKey)
	}
	return s.lock(ctx, key, wanted)
}

// Quarantined calls fn with each record set aside (moved to the table
// <Table>_quarantine) for the session key, or for every session when key
// is "", without taking any lock; it stops at fn's first error. The
// records are read first and fn called afterwards.
func (s *Store) Quarantined(ctx context.Context, key string, fn func(persist.Quarantined) error) error {
	sql, args := s.q.quarAll, []any{pgx.QueryExecModeExec}
	if key != "" {
		if !isKey(key) {
			return fmt.Errorf("pgstore: quarantined %q: %w", key, persist.ErrBadKey)
		}
		sql, args = s.q.quarantined, append(args, key)
	}
	if s.closed.Load() {
		return persist.ErrClosed
	}
	qs, err := s.readQuarantined(ctx, sql, args)
	if err != nil {
		return fmt.Errorf("pgstore: quarantined: %w", err)
	}
	for _, q := range qs {
		if err := fn(q); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) readQuarantined(ctx context.Context, sql string, args []any) ([]persist.Quarantined, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var (
		qs []persist.Quarantined
		q  persist.Quarantined
		at int64
		r  row
	)
	_, err = pgx.ForEachRow(rows, []any{&q.Key, &at, &r.owner, &r.created, &r.expires, &r.data}, func() error {
		q.Time = time.Unix(0, at)
		q.Name = s.table + "_quarantine"
		q.Record = r.record()
		q.Bytes = int64(len(r.data))
		qs = append(qs, q)
		return nil
	})
	return qs, err
}
