package persist

import (
	"context"
	"crypto/sha256"
	"fmt"
)

var _ Inspector = (*Memory)(nil)

// Sessions calls fn for each stored session of owner (every session when
// owner is ""). It reads a snapshot taken under the store's mutex and calls
// fn without it, so fn may use the store.
func (m *Memory) Sessions(ctx context.Context, owner string, fn func(Info) error) error {
	m.mu.Lock()
	infos := make([]Info, 0, len(m.records))
	for key, rec := range m.records {
		if owner == "" || rec.Owner == owner {
			infos = append(infos, m.info(key, rec))
		}
	}
	m.mu.Unlock()
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("persist: list sessions: %w", err)
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Inspect returns a copy of the record of key without locking it.
func (m *Memory) Inspect(_ context.Context, key string) (Record, Info, error) {
	if !isKey(key) {
		return Record{}, Info{}, fmt.Errorf("persist: inspect %q: %w", key, ErrBadKey)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.records[key]
	if !ok {
		return Record{}, Info{}, ErrNotFound
	}
	info := m.info(key, rec)
	rec.Data = append([]byte(nil), rec.Data...)
	return rec, info, nil
}

// LockKey is Lock for the session of key.
func (m *Memory) LockKey(ctx context.Context, key string, _ func()) (Lock, error) {
	if !isKey(key) {
		return nil, fmt.Errorf("persist: lock %q: %w", key, ErrBadKey)
	}
	l, err := m.lockKey(ctx, key)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// info describes the record of key. Bytes counts the owner and the data.
// The caller holds m.mu.
func (m *Memory) info(key string, rec Record) Info {
	slot := m.slots[key]
	return Info{
		Key:     key,
		Owner:   rec.Owner,
		Created: rec.Created,
		Expires: rec.Expires,
		Bytes:   int64(len(rec.Owner) + len(rec.Data)),
		Locked:  slot != nil && len(slot.ch) == 1,
	}
}

// isKey reports whether key has the form of a key (see [Key]): 64
// characters of [0-9a-f].
func isKey(key string) bool {
	if len(key) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
