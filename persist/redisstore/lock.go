package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/redis/go-redis/v9"
)

// opTimeout bounds one call to Redis made by a Lock method, which takes no
// context: a Redis that does not answer fails the call instead of hanging
// the session's turn.
const opTimeout = 5 * time.Second

// lock is a held lease on one session. Its methods are used by one
// goroutine at a time; the renewer reads k and token, which never change,
// and sets lost.
type lock struct {
	s      *Store
	k      sessionKeys
	token  string
	wanted func()

	version    int64   // the record's version when the lease was taken, or as this holder last loaded or wrote it; 0 for no record, -1 if unknown (corrupt)
	prefetched bool    // pre holds the record read by the lock script
	pre        fetched // what the lock script read
	released   bool

	lost    atomic.Bool  // the renewer found the lease gone
	renewed atomic.Int64 // Store.now() when the last successful take or renewal was sent
}

var _ persist.Lock = (*lock)(nil)

func (l *lock) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// Load returns the record. The first Load after Lock returns what the lock
// script read, costing no round trip; later ones read it again, checking
// the lease. A record that does not decode is moved aside and reported as
// a *persist.CorruptError.
func (l *lock) Load() (persist.Record, error) {
	if l.released {
		return persist.Record{}, persist.ErrReleased
	}
	var f fetched
	if l.prefetched {
		f, l.pre, l.prefetched = l.pre, fetched{}, false
	} else {
		ctx, cancel := l.ctx()
		defer cancel()
		res, err := loadScript.Run(ctx, l.s.client, []string{l.k.lock, l.k.rec}, l.token).Result()
		if err != nil {
			return persist.Record{}, fmt.Errorf("redisstore: load session %s: %w", l.k.key, err)
		}
		arr, ok := res.([]any)
		if !ok || len(arr) < 2 {
			return persist.Record{}, l.lostErr("load")
		}
		f = l.fetched(arr[1])
	}
	if f.err != nil {
		return persist.Record{}, l.quarantine(f.err, false)
	}
	if !f.found {
		return persist.Record{}, persist.ErrNotFound
	}
	return f.rec, nil
}

// fetched is a record as read from Redis.
type fetched struct {
	rec   persist.Record
	found bool
	err   error // the record did not decode
}

// fetched decodes the reply of HGETALL and notes the record's version.
func (l *lock) fetched(reply any) fetched {
	rec, version, found, err := parseRecord(reply)
	switch {
	case err != nil:
		l.version = -1
	case found:
		l.version = version
	default:
		l.version = 0
	}
	return fetched{rec: rec, found: found, err: err}
}

// Save writes rec if this holder's lease is still alive and the record is
// the one it last loaded or wrote, and sets the record's TTL at
// rec.Expires; the check and the write are one server-side script. It
// returns an error matching persist.ErrLockLost otherwise. sync has no
// effect: a write's durability is Redis's (appendonly, appendfsync,
// replication).
func (l *lock) Save(rec persist.Record, _ bool) error {
	if l.released {
		return persist.ErrReleased
	}
	if l.lost.Load() || l.s.now()-l.renewed.Load() >= int64(l.s.ttl) {
		// The renewer found the lease gone, or by this process's own clock
		// it has run out (the process was paused, or cut off from Redis).
		return l.lostErr("save")
	}
	ctx, cancel := l.ctx()
	defer cancel()
	n, err := saveScript.Run(ctx, l.s.client, []string{l.k.lock, l.k.rec},
		l.token, l.version, unixNanos(rec.Created), unixNanos(rec.Expires), rec.Owner, rec.Data,
		expireAt(rec.Expires)).Int64()
	switch {
	case err != nil:
		// The write may or may not have happened: the next Save finds out
		// by the record's version.
		return fmt.Errorf("redisstore: save session %s: %w", l.k.key, err)
	case n == -1:
		return l.lostErr("save")
	case n == -2:
		return l.movedErr("save")
	}
	l.version = n
	l.prefetched, l.pre = false, fetched{}
	return nil
}

// Delete removes the record and ends the lease, if the lease is still
// this holder's; the record is left alone (and the lease ended) if it is
// not the one this holder last loaded or wrote.
func (l *lock) Delete() error {
	if l.released {
		return persist.ErrReleased
	}
	return l.end("delete", deleteScript, l.version)
}

// Release ends the lease; the record stays. It always lets go: a lease
// that has already run out is released, and one that Redis cannot be told
// about (it is down) runs out within LeaseTTL; the latter is logged.
func (l *lock) Release() error {
	if l.released {
		return persist.ErrReleased
	}
	err := l.end("release", releaseScript, 0)
	switch {
	case errors.Is(err, persist.ErrLockLost):
		l.s.log.Debug("redisstore: released a lease that had run out", "key", l.k.key)
	case err != nil:
		l.s.log.Warn("redisstore: release: the lease runs out by itself", "key", l.k.key, "err", err)
	}
	return nil
}

// Quarantine renames the record to <prefix>{<key>}:corrupt:<unix nanos>
// (it keeps its TTL) and ends the lease.
func (l *lock) Quarantine(cause error) error {
	if l.released {
		return persist.ErrReleased
	}
	return l.quarantine(cause, true)
}

// end runs a script that ends the lease (releaseScript or deleteScript)
// and forgets the lock whatever happens: a lease that could not be ended
// runs out within LeaseTTL.
func (l *lock) end(op string, script *redis.Script, version int64) error {
	l.released = true
	l.pre = fetched{}
	defer l.s.forget(l)
	ctx, cancel := l.ctx()
	defer cancel()
	n, err := script.Run(ctx, l.s.client, []string{l.k.lock, l.k.rec, l.k.want},
		l.token, version, l.s.channel, "f"+l.k.key).Int64()
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: %s session %s: %w", op, l.k.key, err)
	case n == -1:
		return l.lostErr(op)
	case n == -2:
		return l.movedErr(op)
	}
	return nil
}

// quarantine moves the record aside and, with release, ends the lease. It
// returns the *persist.CorruptError to report.
func (l *lock) quarantine(cause error, release bool) error {
	if release {
		l.released = true
		defer l.s.forget(l)
	}
	q := l.k.quarantineKey(time.Now())
	cerr := &persist.CorruptError{Path: l.k.rec, Err: cause}
	ctx, cancel := l.ctx()
	defer cancel()
	rel := "0"
	if release {
		rel = "1"
	}
	n, err := quarantineScript.Run(ctx, l.s.client, []string{l.k.lock, l.k.rec, l.k.want, q},
		l.token, rel, l.s.channel, "f"+l.k.key).Int64()
	switch {
	case err != nil:
		cerr.Err = errors.Join(cause, fmt.Errorf("redisstore: quarantine %s: %w", l.k.rec, err))
	case n == -1:
		cerr.Err = errors.Join(cause, l.lostErr("quarantine"))
	case n == 1:
		cerr.Quarantine = q
	}
	return cerr
}

// lostErr reports that the lease ran out (or vanished) while held.
func (l *lock) lostErr(op string) error {
	l.lost.Store(true)
	return fmt.Errorf("redisstore: %s session %s: lease expired or taken by another holder: %w", op, l.k.key, persist.ErrLockLost)
}

// movedErr reports that the record changed behind the holder's back
// although the lease looked alive (a failover lost writes or the lease).
func (l *lock) movedErr(op string) error {
	l.lost.Store(true)
	return fmt.Errorf("redisstore: %s session %s: record changed behind its holder's back: %w", op, l.k.key, persist.ErrLockLost)
}
