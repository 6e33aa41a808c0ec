package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// activate loads session id for its actor, taking the store's lock. It is
// the actor runtime's Activate hook; ctx is bounded by LockTimeout.
func (e *Engine) activate(ctx context.Context, id string) (*sessionState, error) {
	st, start := newSessionState(e, id, nil), time.Now()
	lock, err := e.lock(ctx, id, func() {
		st.wanted.Store(true)
		e.rt.Retire(id)
	})
	if err != nil {
		return nil, err
	}
	var rec persist.Record
	err = e.withFiles(func() (err error) {
		rec, err = lock.Load()
		return err
	})
	if errors.Is(err, persist.ErrNotFound) {
		// Unknown, or corrupt and moved aside: leave no lock file behind.
		lock.Delete()
		if errors.Is(err, persist.ErrCorrupt) {
			e.logCorrupt(err)
			return nil, fmt.Errorf("%w: %w", notFound(id), err)
		}
		return nil, notFound(id)
	}
	if err != nil {
		lock.Release()
		return nil, opError("activate", id, err)
	}
	now := e.cfg.Now()
	if rec.Expired(now) {
		return nil, e.deleteExpired(lock, id, rec.Owner)
	}
	meta, values, err := decodeData(e.cfg.Codec, rec.Data)
	if err != nil {
		qerr := lock.Quarantine(err)
		e.logCorrupt(qerr)
		return nil, fmt.Errorf("%w: %w", notFound(id), qerr)
	}
	meta.owner = rec.Owner
	if l := meta.lifetime(&e.cfg); l > 0 && !now.Before(rec.Created.Add(l)) {
		return nil, e.deleteExpired(lock, id, rec.Owner)
	}
	st.values = values
	st.meta = meta
	st.savedMeta = meta
	st.lock = lock
	st.created = rec.Created
	st.setExpires(rec.Expires, &e.cfg)
	st.used = now
	st.stored = true
	e.count.activations.Add(1)
	e.observeLoad(ctx, st, lock, start)
	return st, nil
}

// logCorrupt logs a record that was moved aside. The error is returned as
// well: callers treat ErrNotFound as "no session" and move on, and a corrupt
// file needs an operator's attention.
func (e *Engine) logCorrupt(err error) {
	e.cfg.Logger.Error("engine: session record quarantined", "err", err)
}

// passivate saves a session's pending changes and releases its lock. It is
// the actor runtime's Passivate hook. A session whose lock was lost is
// dropped without a write: another locker may own the record now.
func (e *Engine) passivate(id string, st *sessionState) error {
	if st.gone || st.lock == nil {
		return nil
	}
	now := e.cfg.Now()
	if !st.lost && !now.Before(st.deadline(&e.cfg)) {
		e.expire(st)
		return nil
	}
	var err error
	if deadline := st.deadline(&e.cfg); !st.lost && (st.dirty || !st.stored || deadline.Sub(st.expires).Abs() >= e.touchStep()) {
		// A write that would only take the slack off the stored expiry
		// (see expiry.go) may fail: the record stays valid, its expiry
		// late by at most the slack.
		optional := !st.dirty && st.stored && !deadline.After(st.expires)
		err = e.save(st, true, false) // no shedding: passivation is how descriptors are freed
		switch {
		case st.lost: // nothing left to keep
			e.cfg.Logger.Warn("engine: session dropped: its lock was lost", "err", err)
			err = nil
		case err != nil && optional:
			err = nil
		case err != nil && !e.closed():
			return err // stay resident; passivation is tried again later
		}
	}
	if !st.lost { // counted before the release, which the next holder may see at once
		e.count.passivations.Add(1)
		if st.wanted.Load() {
			e.count.handOversGiven.Add(1)
		}
	}
	// When closing, a failed save is reported by Shutdown and the lock is
	// released all the same: a process that stops must not keep it.
	rerr := st.lock.Release()
	st.lock = nil
	if rerr != nil && !st.lost {
		if !e.closed() {
			// The lock is gone either way, so the state must go too: kept
			// resident without a lock, its next turns would commit nothing.
			e.cfg.Logger.Error("engine: session released with an error", "err", opError("release", id, rerr))
			return err
		}
		if err == nil {
			err = opError("release", id, rerr)
		}
	}
	return err
}
