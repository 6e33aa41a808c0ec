package engine_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// taggedCodec is GobCodec behind a tag of its own, refusing values of the
// type refuse; it keeps what it was last asked to decode.
type taggedCodec struct {
	refuse  reflect.Type
	wrapErr bool // refuse with an *EncodeError of its own
	mu      sync.Mutex
	decoded []byte
}

const codecTag = "TAG1"

func (c *taggedCodec) Encode(values map[string]any) ([]byte, error) {
	for k, v := range values {
		if c.refuse != nil && reflect.TypeOf(v) == c.refuse {
			err := fmt.Errorf("tagged: %T unsupported", v)
			if c.wrapErr {
				return nil, &engine.EncodeError{Key: "own:" + k, Type: c.refuse, Err: err}
			}
			return nil, err
		}
	}
	data, err := engine.GobCodec{}.Encode(values)
	return append([]byte(codecTag), data...), err
}

func (c *taggedCodec) Decode(data []byte) (map[string]any, error) {
	c.mu.Lock()
	c.decoded = bytes.Clone(data)
	c.mu.Unlock()
	rest, ok := bytes.CutPrefix(data, []byte(codecTag))
	if !ok {
		return nil, errors.New("tagged: not mine")
	}
	return engine.GobCodec{}.Decode(rest)
}

// Values written with a Config.Codec come back through it, with their
// types, after a restart; the codec sees only its own bytes.
func TestCodecRoundTrip(t *testing.T) {
	store := persist.NewMemory()
	c := &taggedCodec{}
	cfg := engine.Config{Codec: c}
	e := newEngine(t, store, cfg)
	id := mustCreate(t, e)
	when := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		s.Set("n", 7)
		s.Set("when", when)
		s.SetOwner("alice")
		s.SetIdleTimeout(time.Minute)
		return nil
	}))
	require.NoError(t, e.Close())

	e2 := newEngine(t, store, cfg)
	require.NoError(t, e2.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
		n, ok := engine.Get[int](s, "n")
		assert.True(t, ok)
		assert.Equal(t, 7, n)
		w, _ := engine.Get[time.Time](s, "when")
		assert.True(t, w.Equal(when))
		assert.Equal(t, "alice", s.Owner())
		assert.Equal(t, time.Minute, s.IdleTimeout())
		assert.Equal(t, []string{"n", "when"}, s.Keys())
		return nil
	}))
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.True(t, bytes.HasPrefix(c.decoded, []byte(codecTag)), "the codec got its bytes, without the engine's envelope")
}

// A value the codec refuses fails the Do that stored it with an
// *EncodeError naming the key (found by the engine if the codec's error
// does not name it), and nothing is written.
func TestCodecEncodeError(t *testing.T) {
	type secret struct{ X int }
	for _, wrap := range []bool{false, true} {
		t.Run(fmt.Sprint("codec names the key: ", wrap), func(t *testing.T) {
			c := &taggedCodec{refuse: reflect.TypeFor[secret](), wrapErr: wrap}
			for _, d := range []engine.Durability{engine.OnCommit, engine.OnPassivate} {
				e := newEngine(t, nil, engine.Config{Codec: c, Durability: d})
				id := mustCreate(t, e)
				err := e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
					s.Set("fine", 1)
					s.Set("bad", secret{1})
					return nil
				})
				var ee *engine.EncodeError
				require.ErrorAs(t, err, &ee, "%v", d)
				want := "bad"
				if wrap {
					want = "own:bad"
				}
				assert.Equal(t, want, ee.Key)
				assert.Equal(t, reflect.TypeFor[secret](), ee.Type)
				assert.NotContains(t, err.Error(), "gob.Register", "no gob advice for another codec")
				assert.Nil(t, get(t, e, id, "fine"), "rolled back")
			}
		})
	}
}

// Data written before envelopes (gob alone) still loads under another
// codec; data the codec cannot read is set aside and the session is not
// found.
func TestCodecOldAndForeignData(t *testing.T) {
	store := persist.NewMemory()
	gobEngine := newEngine(t, store, engine.Config{})
	foreign := mustCreate(t, gobEngine)
	set(t, gobEngine, foreign, "n", 1)
	legacy := mustCreate(t, gobEngine)
	require.NoError(t, gobEngine.Close())

	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(map[string]any{"n": 41}))
	l, err := store.Lock(context.Background(), legacy, nil)
	require.NoError(t, err)
	rec, err := l.Load()
	require.NoError(t, err)
	rec.Data = buf.Bytes()
	require.NoError(t, l.Save(rec, false))
	require.NoError(t, l.Release())

	e := newEngine(t, store, engine.Config{Codec: &taggedCodec{}})
	assert.Equal(t, 41, get(t, e, legacy, "n"))
	err = increment(context.Background(), e, foreign)
	assert.ErrorIs(t, err, engine.ErrNotFound)
	assert.ErrorIs(t, err, persist.ErrCorrupt)
}

// DecodeValues and DecodeValuesWith read a stored record's values as the
// engine wrote them, past the session's own limits.
func TestDecodeValues(t *testing.T) {
	for _, c := range []engine.Codec{nil, &taggedCodec{}} {
		store := persist.NewMemory()
		e := newEngine(t, store, engine.Config{Codec: c, MaxIdleTimeout: 24 * time.Hour})
		id := mustCreate(t, e)
		require.NoError(t, e.Do(context.Background(), id, func(_ context.Context, s *engine.Session) error {
			s.Set("n", 7)
			s.SetIdleTimeout(time.Hour)
			return nil
		}))
		rec, _, err := store.Inspect(context.Background(), persist.Key(id))
		require.NoError(t, err)
		values, err := engine.DecodeValuesWith(c, rec.Data)
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"n": 7}, values)
		if c == nil {
			values, err = engine.DecodeValues(rec.Data)
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"n": 7}, values)
		}
	}
}
