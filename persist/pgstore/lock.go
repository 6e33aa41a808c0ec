package pgstore

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lockstep-go/lockstep/persist"
)

// lock is a held lease on one session. Its methods are used by one
// goroutine at a time; the renewer reads key and token, which never
// change, and ending, and sets lost and renewed.
type lock struct {
	s      *Store
	key    string
	token  string
	wanted func()

	version    int64 // the row's version as this holder last loaded or wrote it; -1 if unknown
	prefetched bool  // pre holds the record read by the take statement
	pre        row
	released   bool
	waited     bool // Lock found the lease taken at least once

	lost    atomic.Bool  // the renewer found the lease gone, or it ran out
	ending  atomic.Bool  // Release, Delete or Quarantine is ending the lease: the renewer leaves it alone
	renewed atomic.Int64 // Store.now() when the last successful take or renewal was sent
}

var _ persist.Lock = (*lock)(nil)

// row is a session's row as read from the table.
type row struct {
	data             []byte // nil: no record
	owner            string
	created, expires *int64 // Unix nanoseconds; nil for the zero time
	version          int64
}

// record returns the row's record.
func (r row) record() persist.Record {
	return persist.Record{Created: fromNanos(r.created), Expires: fromNanos(r.expires), Owner: r.owner, Data: r.data}
}

// Waited reports whether Lock found the lease taken at least once and had
// to wait (for a hand-over, a release or the lease to run out); the engine
// counts those activations in Stats.HandOversTaken.
func (l *lock) Waited() bool { return l.waited }

// Load returns the record. The first Load after Lock returns what the take
// statement read, costing no round trip; later ones read it again, checking
// the lease.
func (l *lock) Load() (persist.Record, error) {
	if l.released {
		return persist.Record{}, persist.ErrReleased
	}
	r := l.pre
	if l.prefetched {
		l.pre, l.prefetched = row{}, false
	} else {
		ctx, cancel := l.s.statement()
		defer cancel()
		err := l.s.pool.QueryRow(ctx, l.s.q.load, pgx.QueryExecModeExec, l.key, l.token).
			Scan(&r.data, &r.owner, &r.created, &r.expires, &r.version)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return persist.Record{}, l.lostErr("load")
		case err != nil:
			return persist.Record{}, fmt.Errorf("pgstore: load session %s: %w", l.key, err)
		}
		l.version = r.version
	}
	if r.data == nil {
		return persist.Record{}, persist.ErrNotFound
	}
	return r.record(), nil
}

// Save writes rec if this holder's lease is still its own and the row's
// version is the one it last loaded or wrote; the check and the write are
// one UPDATE, in the table's save function. It returns an error matching
// persist.ErrLockLost otherwise, and without sending anything once the
// lease has run out by this process's own clock. sync has no effect: a
// write is as durable as the server's commit (synchronous_commit).
//
// Another error (a timeout, a connection lost) may come after the server
// committed: the next Save of this Lock then finds the version moved and
// fails with persist.ErrLockLost, and the engine loads what the table
// holds.
func (l *lock) Save(rec persist.Record, _ bool) error {
	if l.released {
		return persist.ErrReleased
	}
	if l.lost.Load() || l.s.now()-l.renewed.Load() >= int64(l.s.ttl) {
		return l.lostErr("save")
	}
	created, err := toNanos(rec.Created)
	if err != nil {
		return fmt.Errorf("pgstore: save session %s: created: %w", l.key, err)
	}
	expires, err := toNanos(rec.Expires)
	if err != nil {
		return fmt.Errorf("pgstore: save session %s: expires: %w", l.key, err)
	}
	data := rec.Data
	if data == nil {
		data = []byte{} // NULL means no record
	}
	ctx, cancel := l.s.statement()
	defer cancel()
	var n int64
	err = l.s.pool.QueryRow(ctx, l.s.q.save, pgx.QueryExecModeExec,
		l.key, l.token, l.version, data, rec.Owner, created, expires, sweepAt(expires)).Scan(&n)
	switch {
	case err != nil:
		// The write may or may not have happened: the next Save finds
		// out by the version (ErrLockLost if it did).
		return fmt.Errorf("pgstore: save session %s: %w", l.key, err)
	case n == 0:
		return l.lostErr("save")
	}
	l.version++
	l.pre, l.prefetched = row{}, false
	return nil
}

// Delete removes the row and ends the lease, if the lease is still this
// holder's and the record the one it last loaded or wrote; otherwise it
// leaves the row, ends the lease and returns an error matching
// persist.ErrLockLost.
func (l *lock) Delete() error {
	if l.released {
		return persist.ErrReleased
	}
	l.end()
	defer l.s.forget(l)
	ctx, cancel := l.s.statement()
	defer cancel()
	var n int64
	err := l.s.pool.QueryRow(ctx, l.s.q.del, pgx.QueryExecModeExec,
		l.key, l.token, l.version, l.s.channel, "f"+l.key).Scan(&n)
	switch {
	case err != nil:
		return fmt.Errorf("pgstore: delete session %s: %w", l.key, err)
	case n == 0:
		_ = l.releaseRow()
		return l.lostErr("delete")
	}
	return nil
}

// Release ends the lease; the record stays. It always lets go: a lease
// that has already passed on is released, and one that the server cannot
// be told about runs out within LeaseTTL; the latter is logged.
func (l *lock) Release() error {
	if l.released {
		return persist.ErrReleased
	}
	l.end()
	defer l.s.forget(l)
	if err := l.releaseRow(); err != nil {
		l.s.log.Warn("pgstore: release: the lease runs out by itself", "key", l.key, "err", err)
	}
	return nil
}

// releaseRow ends the lease in the table.
func (l *lock) releaseRow() error {
	ctx, cancel := l.s.statement()
	defer cancel()
	_, err := l.s.pool.Exec(ctx, l.s.q.release, pgx.QueryExecModeExec, l.key, l.token, l.s.channel, "f"+l.key)
	return err
}

// Quarantine moves the record to the quarantine table and ends the lease.
func (l *lock) Quarantine(cause error) error {
	if l.released {
		return persist.ErrReleased
	}
	l.end()
	defer l.s.forget(l)
	cerr := &persist.CorruptError{Path: l.s.table + " key " + l.key, Err: cause}
	ctx, cancel := l.s.statement()
	defer cancel()
	var deleted, moved, notified int64
	err := l.s.pool.QueryRow(ctx, l.s.q.quarantine, pgx.QueryExecModeExec,
		l.key, l.token, time.Now().UnixNano(), causeText(cause), l.s.channel, "f"+l.key).Scan(&deleted, &moved, &notified)
	switch {
	case err != nil:
		cerr.Err = errors.Join(cause, fmt.Errorf("pgstore: quarantine session %s: %w", l.key, err))
	case deleted == 0:
		_ = l.releaseRow()
		cerr.Err = errors.Join(cause, l.lostErr("quarantine"))
	case moved == 1:
		cerr.Quarantine = l.s.table + "_quarantine"
	}
	return cerr
}

func causeText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// end marks the Lock released, so that the renewer leaves it alone.
func (l *lock) end() {
	l.released = true
	l.ending.Store(true)
	l.pre, l.prefetched = row{}, false
}

// lostErr reports that the lease passed on (or ran out) while held.
func (l *lock) lostErr(op string) error {
	l.lost.Store(true)
	return fmt.Errorf("pgstore: %s session %s: lease expired or taken by another holder: %w", op, l.key, persist.ErrLockLost)
}

// Times are stored as Unix nanoseconds, which hold the years 1678 to 2262.
var (
	minTime = time.Unix(0, -1<<63)
	maxTime = time.Unix(0, 1<<63-1)
)

// toNanos returns t as Unix nanoseconds, nil for the zero time.
func toNanos(t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("time %v outside the years 1678 to 2262", t)
	}
	n := t.UnixNano()
	return &n, nil
}

// fromNanos is the inverse of toNanos.
func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n)
}
