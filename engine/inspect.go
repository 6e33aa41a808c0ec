package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/lockstep-go/lockstep/persist"
)

// Store returns the engine's store, for tools that list or inspect its
// sessions (persist.Inspector). Changing records behind the engine's back
// is not safe; use the engine's methods.
func (e *Engine) Store() persist.Store { return e.store }

// Inspect reads the stored session of key (see persist.Key) without
// locking it or making it resident: its metadata, and its values decoded
// with Config.Codec. It is a snapshot for display: a session resident in
// this or another engine may have changes not yet written (OnPassivate).
// It returns an error matching [ErrNoInspector] if the store cannot read
// sessions by key, and one matching ErrNotFound if there is none.
func (e *Engine) Inspect(ctx context.Context, key string) (persist.Info, map[string]any, error) {
	ins, ok := e.store.(persist.Inspector)
	if !ok {
		return persist.Info{}, nil, ErrNoInspector
	}
	rec, info, err := ins.Inspect(ctx, key)
	if errors.Is(err, persist.ErrNotFound) {
		return info, nil, fmt.Errorf("%w: key %s", ErrNotFound, key)
	}
	if err != nil {
		return info, nil, fmt.Errorf("engine: inspect key %s: %w", key, err)
	}
	_, values, err := decodeData(e.cfg.Codec, rec.Data)
	if err != nil {
		return info, nil, fmt.Errorf("engine: inspect key %s: %w", key, err)
	}
	return info, values, nil
}

// DestroyKey destroys the stored session of key (see persist.Key), for
// operators who know sessions by key only, and reports whether it did. It
// works as [Engine.DestroyOwner] does for one session, whatever its owner:
// a session resident here is destroyed in a turn of its own, one held by
// another process is handed over and deleted; either way no turn on it is
// served afterwards, and a SessionDestroyed event is reported. A session
// that is gone already, or whose owner changes while DestroyKey locks it,
// is left alone (false, nil). It returns an error matching
// [ErrNoInspector] if the store cannot find sessions by key.
func (e *Engine) DestroyKey(ctx context.Context, key string) (bool, error) {
	if e.closed() {
		return false, ErrClosed
	}
	ins, ok := e.store.(persist.Inspector)
	if !ok {
		return false, ErrNoInspector
	}
	_, info, err := ins.Inspect(ctx, key)
	if errors.Is(err, persist.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("engine: DestroyKey: key %s: %w", key, err)
	}
	if id, ok := e.residentKeys()[key]; ok {
		return e.destroyOwnedID(ctx, id, info.Owner)
	}
	return e.destroyOwnedKey(ctx, ins, key, info.Owner)
}
