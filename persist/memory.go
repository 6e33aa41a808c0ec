package persist

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Memory is a Store that keeps records in the process's memory. It serialises
// access within the process only and loses everything when the process ends.
// It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	records map[string]Record   // by key (see Key)
	slots   map[string]*memSlot // per-key locks that are held or waited for
}

// memSlot is the lock of one key: a token in ch means it is held.
type memSlot struct {
	ch   chan struct{} // capacity 1: the lock itself
	refs int           // holders and waiters; the slot is dropped at zero
}

// NewMemory returns an empty in-memory Store.
func NewMemory() *Memory {
	return &Memory{records: make(map[string]Record), slots: make(map[string]*memSlot)}
}

// Lock waits for the lock of id. wanted is never called: no other process
// shares a Memory store.
func (m *Memory) Lock(ctx context.Context, id string, _ func()) (Lock, error) {
	l, err := m.lockKey(ctx, Key(id))
	if err != nil {
		return nil, err
	}
	return l, nil
}

// lockKey waits for the lock of key.
func (m *Memory) lockKey(ctx context.Context, key string) (*memLock, error) {
	slot := m.ref(key)
	select {
	case slot.ch <- struct{}{}:
		return &memLock{m: m, key: key, slot: slot}, nil
	default:
	}
	select {
	case slot.ch <- struct{}{}:
		return &memLock{m: m, key: key, slot: slot, waited: true}, nil
	case <-ctx.Done():
		m.unref(key, slot)
		return nil, fmt.Errorf("persist: lock session: %w", ctx.Err())
	}
}

// tryLock takes the lock of key only if it is free.
func (m *Memory) tryLock(key string) (*memLock, bool) {
	slot := m.ref(key)
	select {
	case slot.ch <- struct{}{}:
		return &memLock{m: m, key: key, slot: slot}, true
	default:
		m.unref(key, slot)
		return nil, false
	}
}

func (m *Memory) ref(key string) *memSlot {
	m.mu.Lock()
	defer m.mu.Unlock()
	slot := m.slots[key]
	if slot == nil {
		slot = &memSlot{ch: make(chan struct{}, 1)}
		m.slots[key] = slot
	}
	slot.refs++
	return slot
}

func (m *Memory) unref(key string, slot *memSlot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	slot.refs--
	if slot.refs == 0 {
		delete(m.slots, key)
	}
}

// Sweep removes the records that have expired at now and are not locked.
func (m *Memory) Sweep(ctx context.Context, now time.Time) (SweepReport, error) {
	m.mu.Lock()
	var expired []string
	for key, rec := range m.records {
		if rec.Expired(now) {
			expired = append(expired, key)
		}
	}
	m.mu.Unlock()

	var rep SweepReport
	for _, key := range expired {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("persist: sweep: %w", err)
		}
		l, ok := m.tryLock(key)
		if !ok {
			rep.Busy++
			continue
		}
		// Check again under the lock: the record may have been renewed.
		if rec, err := l.Load(); err == nil && rec.Expired(now) {
			_ = l.Delete() // cannot fail on a held lock
			rep.Expired++
			rep.Removed = append(rep.Removed, removedInfo(key, rec))
			continue
		}
		_ = l.Release()
	}
	return rep, nil
}

// Len returns the number of records stored.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// Close does nothing: a Memory store has no resources to release.
func (m *Memory) Close() error { return nil }

// memLock is a held lock of a Memory store.
type memLock struct {
	m        *Memory
	key      string
	slot     *memSlot
	released bool
	waited   bool // Lock had to wait for another holder
}

// Waited reports whether Lock had to wait for another holder.
func (l *memLock) Waited() bool { return l.waited }

var _ HandOverReporter = (*memLock)(nil)

func (l *memLock) Load() (Record, error) {
	if l.released {
		return Record{}, ErrReleased
	}
	l.m.mu.Lock()
	rec, ok := l.m.records[l.key]
	l.m.mu.Unlock()
	if !ok {
		return Record{}, ErrNotFound
	}
	// The caller owns what Load returns; the stored bytes stay as saved.
	rec.Data = append([]byte(nil), rec.Data...)
	return rec, nil
}

func (l *memLock) Save(rec Record, _ bool) error {
	if l.released {
		return ErrReleased
	}
	// The caller may reuse its buffer; the stored bytes are never modified.
	rec.Data = append([]byte(nil), rec.Data...)
	l.m.mu.Lock()
	l.m.records[l.key] = rec
	l.m.mu.Unlock()
	return nil
}

func (l *memLock) Delete() error {
	if l.released {
		return ErrReleased
	}
	l.m.mu.Lock()
	delete(l.m.records, l.key)
	l.m.mu.Unlock()
	return l.Release()
}

func (l *memLock) Quarantine(cause error) error {
	if l.released {
		return ErrReleased
	}
	if err := l.Delete(); err != nil {
		return err
	}
	return &CorruptError{Path: "memory record " + l.key, Err: cause}
}

func (l *memLock) Release() error {
	if l.released {
		return ErrReleased
	}
	l.released = true
	<-l.slot.ch
	l.m.unref(l.key, l.slot)
	return nil
}

// removedInfo describes an expired record a sweep removed.
func removedInfo(key string, rec Record) Info {
	return Info{Key: key, Owner: rec.Owner, Created: rec.Created, Expires: rec.Expires, Bytes: int64(len(rec.Data))}
}
