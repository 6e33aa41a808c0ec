package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/redis/go-redis/v9"
)

// lock is a held lease on one session. Its methods are used by one
// goroutine at a time; the renewer reads k and token, which never change,
// and ending, and sets lost.
type lock struct {
	s      *Store
	k      sessionKeys
	token  string
	wanted func()

	version    int64   // the record's version when the lease was taken, or as this holder last loaded or wrote it; 0 for no record, -1 if unknown
	prefetched bool    // pre holds the record read by the lock script
	pre        fetched // what the lock script read
	released   bool
	waited     bool // Lock found the lease taken at least once

	// The save script's arguments, kept so that a Save allocates nothing
	// of its own beyond what go-redis needs (measured: 22 allocations per
	// Save through Script.Run and boxed arguments, 4 this way).
	saveArgs [9]any
	fenceArg argBytes // ARGV[2]
	recArg   argBytes // ARGV[3]: the encoded record, its buffer reused
	pxat     int64    // ARGV[4]

	lost    atomic.Bool  // the renewer found the lease gone
	ending  atomic.Bool  // Release, Delete or Quarantine is ending the lease: the renewer leaves it alone
	renewed atomic.Int64 // Store.now() when the last successful take or renewal was sent
}

var _ persist.Lock = (*lock)(nil)

// argBytes is a script argument that go-redis writes as it is (through
// encoding.BinaryMarshaler): a pointer to it boxes without allocating.
type argBytes []byte

// MarshalBinary returns b itself.
func (b *argBytes) MarshalBinary() ([]byte, error) { return *b, nil }

func newLock(s *Store, k sessionKeys, wanted func()) *lock {
	l := &lock{s: s, k: k, token: newToken(), wanted: wanted, version: -1}
	l.saveArgs = [...]any{"evalsha", saveScript.Hash(), "2", k.lock, k.rec, l.token, &l.fenceArg, &l.recArg, &l.pxat}
	return l
}

// Waited reports whether Lock found the lease taken at least once and had
// to wait (for a hand-over, a release or the lease to run out); the engine
// counts those activations in Stats.HandOversTaken.
func (l *lock) Waited() bool { return l.waited }

var _ persist.HandOverReporter = (*lock)(nil)

// Lock methods take no context. Each of their calls to Redis is bounded by
// the client's own timeouts (go-redis's ReadTimeout and WriteTimeout,
// 3 s by default; context deadlines only bound I/O with
// ContextTimeoutEnabled), so a Redis that does not answer fails the call
// instead of hanging the session's turn.

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
		res, err := loadScript.Run(context.Background(), l.s.client, []string{l.k.lock, l.k.rec}, l.token).Result()
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

// fetched decodes a record as the lock and load scripts return it (a
// string, nil for none, -3 for a key of another type) and notes its
// version.
func (l *lock) fetched(reply any) fetched {
	var f fetched
	switch r := reply.(type) {
	case nil:
		l.version = 0
		return f
	case string:
		rec, v, err := parseRecord([]byte(r))
		if err == nil {
			l.version = int64(v)
			return fetched{rec: rec, found: true}
		}
		f.err = err
	default:
		f.err = fmt.Errorf("%w: not a string (%v)", errRecord, r)
	}
	l.version = -1
	return f
}

// Save writes rec if this holder's lease is still alive and the record is
// the one it last loaded or wrote, and sets the record's TTL at
// rec.Expires; the check and the write are one server-side script. It
// returns an error matching persist.ErrLockLost otherwise. With
// WaitReplicas, a write that too few replicas acknowledged returns an error
// matching both ErrNotReplicated and persist.ErrLockLost: the record is in
// doubt. sync has no effect: a write's durability is Redis's (WaitReplicas,
// appendonly, appendfsync).
//
// Another error (a timeout, a connection lost) may come after Redis ran the
// script: then the record holds rec although Save failed, and the holder,
// which rolls back, no longer knows the record's version. That is safe: the
// next Save of this Lock finds the version moved and fails with
// persist.ErrLockLost, and the engine then drops the session and loads
// what Redis holds.
func (l *lock) Save(rec persist.Record, _ bool) error {
	if l.released {
		return persist.ErrReleased
	}
	if l.lost.Load() || l.s.now()-l.renewed.Load() >= int64(l.s.ttl) {
		// The renewer found the lease gone, or by this process's own clock
		// it has run out (the process was paused, or cut off from Redis).
		return l.lostErr("save")
	}
	ctx := context.Background()
	if l.version < 0 {
		// A record that did not decode, and could not be moved aside:
		// learn what is there now, to replace exactly that.
		if err := l.learnVersion(ctx); err != nil {
			return err
		}
	}
	var err error
	if l.recArg, err = encodeRecord(l.recArg[:0], rec, uint64(l.version)+1); err != nil {
		return err
	}
	l.fenceArg = append(l.fenceArg[:0], fence(uint64(l.version))...)
	l.pxat = expireAt(rec.Expires)
	reply, acks, err := l.s.write(ctx, saveScript, l.k.rec, l.saveArgs[:])
	var n int64
	if err == nil {
		n, err = int64Reply(reply)
	}
	switch {
	case err != nil:
		// The write may or may not have happened: the next Save finds out
		// by the record's version (ErrLockLost if it did).
		return fmt.Errorf("redisstore: save session %s: %w", l.k.key, err)
	case n == -1:
		return l.lostErr("save")
	case n == -2:
		return l.movedErr("save")
	}
	l.version++
	l.prefetched, l.pre = false, fetched{}
	if acks < int64(l.s.waitN) {
		// Written, but a failover may lose it: the record is in doubt, and
		// the holder must load it again.
		l.lost.Store(true)
		return fmt.Errorf("%w: %w", l.s.notReplicated("save", l.k.key, acks), persist.ErrLockLost)
	}
	return nil
}

// learnVersion sets l.version from the record's first bytes, as fenceScript
// reads them.
func (l *lock) learnVersion(ctx context.Context) error {
	res, err := fenceScript.Run(ctx, l.s.client, []string{l.k.lock, l.k.rec}, l.token).Result()
	if err != nil {
		return fmt.Errorf("redisstore: save session %s: %w", l.k.key, err)
	}
	b, ok := res.(string)
	switch {
	case !ok:
		return l.lostErr("save")
	case b == "":
		l.version = 0
	case len(b) == fenceLen && b[0] == recordFormat:
		l.version = int64(binary.BigEndian.Uint64([]byte(b[1:])))
	default:
		// A record that does not decode is still in the way (moving it
		// aside failed); Load moves it aside again.
		return fmt.Errorf("redisstore: save session %s: %w: first bytes %q", l.k.key, errRecord, b)
	}
	return nil
}

// Delete removes the record and ends the lease, if the lease is still
// this holder's; the record is left alone (and the lease ended) if it is
// not the one this holder last loaded or wrote.
func (l *lock) Delete() error {
	if l.released {
		return persist.ErrReleased
	}
	var f []byte // any record: this holder does not know which is there
	if l.version >= 0 {
		f = fence(uint64(l.version))
	}
	l.markEnding()
	return l.end("delete", deleteScript, f)
}

// Release ends the lease; the record stays. It always lets go: a lease
// that has already run out is released, and one that Redis cannot be told
// about (it is down) runs out within LeaseTTL; the latter is logged. It
// waits at most releaseWait for Redis: a release that takes longer (Redis
// is paused or unreachable) goes on in the background, so that a turn
// whose commit succeeded never waits on a dead server for it.
func (l *lock) Release() error {
	if l.released {
		return persist.ErrReleased
	}
	// Before the release runs, perhaps on another goroutine: from here on
	// the renewer leaves the lease alone (a lease that runs out now is
	// not reported lost, and wanted is not called for it), and l's fields
	// are written by that goroutine only.
	l.markEnding()
	s := l.s
	s.relMu.Lock()
	if s.relDone {
		s.relMu.Unlock()
		l.release()
		return nil
	}
	s.releases.Add(1)
	s.relMu.Unlock()
	done := make(chan struct{})
	go func() { // owned by the Store: Close waits for it
		defer s.releases.Done()
		defer close(done)
		l.release()
	}()
	timer := time.NewTimer(releaseWait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
	return nil
}

// release ends the lease, logging what goes wrong.
func (l *lock) release() {
	err := l.end("release", releaseScript, nil)
	switch {
	case errors.Is(err, persist.ErrLockLost):
		l.s.log.Debug("redisstore: released a lease that had run out", "key", l.k.key)
	case err != nil:
		l.s.log.Warn("redisstore: release: the lease runs out by itself", "key", l.k.key, "err", err)
	}
}

// Quarantine renames the record to <prefix>{<key>}:corrupt:<unix nanos>
// (it keeps its TTL) and ends the lease.
func (l *lock) Quarantine(cause error) error {
	if l.released {
		return persist.ErrReleased
	}
	return l.quarantine(cause, true)
}

// markEnding marks l released, for its holder, and ending, for the
// renewer. Every path that ends the lease calls it first.
func (l *lock) markEnding() {
	l.released = true
	l.ending.Store(true)
}

// end runs a script that ends the lease (releaseScript or deleteScript)
// and forgets the lock whatever happens: a lease that could not be ended
// runs out within LeaseTTL.
func (l *lock) end(op string, script *redis.Script, fence []byte) error {
	l.pre = fetched{}
	defer l.s.forget(l)
	ctx, args := context.Background(), l.endArgs(script, fence)
	var reply any
	var err error
	acks := int64(l.s.waitN)
	if script == releaseScript { // a release needs no replica: a lost one runs out
		reply, err = l.s.eval(ctx, script, args)
	} else {
		reply, acks, err = l.s.write(ctx, script, l.k.lock, args)
	}
	var n int64
	if err == nil {
		n, err = int64Reply(reply)
	}
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: %s session %s: %w", op, l.k.key, err)
	case n == -1:
		return l.lostErr(op)
	case n == -2:
		return l.movedErr(op)
	case acks < int64(l.s.waitN):
		return l.s.notReplicated(op, l.k.key, acks)
	}
	return nil
}

// endArgs are the wire arguments of releaseScript or deleteScript for l.
func (l *lock) endArgs(script *redis.Script, fence []byte) []any {
	return []any{"evalsha", script.Hash(), "3", l.k.lock, l.k.rec, l.k.want, l.token, fence, l.s.channel, "f" + l.k.key}
}

// quarantine moves the record aside and, with release, ends the lease. It
// returns the *persist.CorruptError to report.
func (l *lock) quarantine(cause error, release bool) error {
	if release {
		l.markEnding()
		defer l.s.forget(l)
	}
	q := l.k.quarantineKey(time.Now())
	cerr := &persist.CorruptError{Path: l.k.rec, Err: cause}
	rel := "0"
	if release {
		rel = "1"
	}
	reply, acks, err := l.s.write(context.Background(), quarantineScript, l.k.lock, []any{"evalsha", quarantineScript.Hash(), "4",
		l.k.lock, l.k.rec, l.k.want, q, l.token, rel, l.s.channel, "f" + l.k.key})
	var n int64
	if err == nil {
		n, err = int64Reply(reply)
	}
	if err == nil && n >= 0 && acks < int64(l.s.waitN) {
		err = l.s.notReplicated("quarantine", l.k.key, acks)
	}
	switch {
	case err != nil:
		cerr.Err = errors.Join(cause, fmt.Errorf("redisstore: quarantine %s: %w", l.k.rec, err))
	case n == -1:
		cerr.Err = errors.Join(cause, l.lostErr("quarantine"))
	case n == 1:
		cerr.Quarantine = q
		l.version = 0
	default:
		l.version = 0
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
