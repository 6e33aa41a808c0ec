package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lockstep-go/lockstep/persist"
)

// Sweep deletes the records that expired at now (by their Expires, not by
// the server's clock) whose lease is not held, in batches that skip rows
// other statements have locked, and the rows of leases that were never
// given a record and ran out (OrphanLocks). Expired records whose lease is
// held are counted in Busy and left alone. It never waits for a lease.
func (s *Store) Sweep(ctx context.Context, now time.Time) (persist.SweepReport, error) {
	var rep persist.SweepReport
	if s.closed.Load() {
		return rep, persist.ErrClosed
	}
	at, err := toNanos(now)
	if err != nil || at == nil {
		return rep, fmt.Errorf("pgstore: sweep at %v: %w", now, errors.Join(err, errors.New("no time")))
	}
	var errs []error
	for {
		n, err := s.sweepBatch(ctx, *at, &rep)
		if err != nil {
			errs = append(errs, fmt.Errorf("pgstore: sweep expired: %w", err))
			break
		}
		if n < sweepBatch {
			break
		}
	}
	for {
		n, err := s.exec(ctx, s.q.orphans, *at, sweepBatch)
		if err != nil {
			errs = append(errs, fmt.Errorf("pgstore: sweep lease rows: %w", err))
			break
		}
		rep.OrphanLocks += int(n)
		if n < sweepBatch {
			break
		}
	}
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var busy int64
	if err := s.pool.QueryRow(qctx, s.q.busy, pgx.QueryExecModeExec, *at).Scan(&busy); err != nil {
		errs = append(errs, fmt.Errorf("pgstore: sweep: count held: %w", err))
	}
	rep.Busy = int(busy)
	return rep, errors.Join(errs...)
}

// sweepBatch deletes one batch of expired records, adding them to rep.
func (s *Store) sweepBatch(ctx context.Context, at int64, rep *persist.SweepReport) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, s.q.sweep, pgx.QueryExecModeExec, at, sweepBatch)
	if err != nil {
		return 0, err
	}
	var (
		info             persist.Info
		created, expires *int64
		n                int
	)
	_, err = pgx.ForEachRow(rows, []any{&info.Key, &info.Owner, &created, &expires, &info.Bytes}, func() error {
		info.Created, info.Expires = fromNanos(created), fromNanos(expires)
		rep.Removed = append(rep.Removed, info)
		rep.Expired++
		n++
		return nil
	})
	return n, err
}

// sweepGrain is the rounding of sweep_at.
const sweepGrain = int64(time.Minute)

// sweepAt returns the value of the sweep_at column for a record that
// expires at expires (nil for never): the expiry rounded down to
// sweepGrain.
func sweepAt(expires *int64) *int64 {
	if expires == nil {
		return nil
	}
	at := *expires - *expires%sweepGrain
	if *expires%sweepGrain < 0 {
		at -= sweepGrain
	}
	return &at
}

// exec runs a statement that changes rows and returns how many it changed.
func (s *Store) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
	return tag.RowsAffected(), err
}
