package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// failDeleteStore is a Memory store whose locks fail to delete: Delete
// releases the lock and returns errBoom, the record stays.
type failDeleteStore struct{ *persist.Memory }

func (s failDeleteStore) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	l, err := s.Memory.Lock(ctx, id, wanted)
	if err != nil {
		return nil, err
	}
	return failDeleteLock{l}, nil
}

type failDeleteLock struct{ persist.Lock }

func (l failDeleteLock) Delete() error {
	if err := l.Release(); err != nil {
		return err
	}
	return errBoom
}

// A lazy turn whose first Set created the session, then an inline Destroy
// or Regenerate that fails and makes the fn fail: the creation is undone
// (no panic), the turn is on no session again and serves on, and the ID
// that was abandoned is not served.
func TestLazyCreationThenFailedInlineDestroy(t *testing.T) {
	for name, kill := range map[string]func(context.Context, *engine.Engine, string) error{
		"destroy": func(ctx context.Context, e *engine.Engine, id string) error { return e.Destroy(ctx, id) },
		"regenerate": func(ctx context.Context, e *engine.Engine, id string) error {
			_, err := e.Regenerate(ctx, id)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, failDeleteStore{persist.NewMemory()}, engine.Config{})
			turn, err := e.BeginLazy(context.Background())
			require.NoError(t, err)
			var abandoned string
			err = turn.Do(func(ctx context.Context, s *engine.Session) error {
				s.Set("a", 1)
				abandoned = s.ID()
				return kill(ctx, e, abandoned)
			})
			require.ErrorIs(t, err, errBoom)
			require.NotEmpty(t, abandoned)
			assert.Empty(t, turn.ID(), "the creation was undone")
			assert.Zero(t, turn.Session().Len())

			require.NoError(t, turn.Do(func(_ context.Context, s *engine.Session) error {
				s.Set("b", 2)
				return nil
			}))
			id := turn.ID()
			require.NoError(t, turn.End())
			require.NotEmpty(t, id)
			assert.NotEqual(t, abandoned, id)
			assert.Equal(t, 2, get(t, e, id, "b"), "a second creation in the turn commits")
			assert.ErrorIs(t, increment(context.Background(), e, abandoned), engine.ErrNotFound)
		})
	}
}
