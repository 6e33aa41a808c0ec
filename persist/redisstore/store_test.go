package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/lockstep-go/lockstep/persist/storetest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testID = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // 43 characters, like the engine's IDs

func keyOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// rawRecord is a record as docs/redis.md lays it out.
func rawRecord(version uint64, expireAtMS int64, owner, data string) []byte {
	b := []byte{1}
	b = binary.BigEndian.AppendUint64(b, version)
	b = binary.BigEndian.AppendUint64(b, uint64(expireAtMS))
	b = binary.BigEndian.AppendUint64(b, 0) // created
	b = binary.BigEndian.AppendUint64(b, 0) // expires
	b = binary.BigEndian.AppendUint32(b, uint32(len(owner)))
	return append(append(b, owner...), data...)
}

func lockKey(id string) string { return "lockstep:{" + keyOf(id) + "}:lock" }
func recKey(id string) string  { return "lockstep:{" + keyOf(id) + "}:rec" }

func lock(t *testing.T, s *redisstore.Store, id string, wanted func()) persist.Lock {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := s.Lock(ctx, id, wanted)
	require.NoError(t, err)
	return l
}

func TestNewRejectsBadConfig(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	for name, cfg := range map[string]redisstore.Config{
		"brace in prefix": {Prefix: "app:{x}:"},
		"lease too short": {LeaseTTL: time.Millisecond},
		"negative lease":  {LeaseTTL: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := redisstore.New(c, cfg)
			assert.Error(t, err)
		})
	}
	_, err := redisstore.New(nil, redisstore.Config{})
	assert.Error(t, err)
}

func TestRoundTrip(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{})
	c := srv.client(t)
	ctx := context.Background()

	l := lock(t, s, testID, nil)
	_, err := l.Load()
	require.ErrorIs(t, err, persist.ErrNotFound)
	created := time.Unix(1700000000, 123456789)
	expires := time.Now().Add(time.Hour)
	want := persist.Record{Created: created, Expires: expires, Owner: "alice", Data: []byte("values\x00\xff")}
	require.NoError(t, l.Save(want, false))
	want.Data[0] = 'V' // the store keeps its own copy
	require.NoError(t, l.Release())

	l = lock(t, s, testID, nil)
	got, err := l.Load()
	require.NoError(t, err)
	assert.True(t, got.Created.Equal(created), "created: got %v, want %v", got.Created, created)
	assert.True(t, got.Expires.Equal(expires), "expires: got %v, want %v", got.Expires, expires)
	assert.Equal(t, "alice", got.Owner)
	assert.Equal(t, []byte("values\x00\xff"), got.Data)
	// A second Load reads the record again.
	again, err := l.Load()
	require.NoError(t, err)
	assert.Equal(t, got.Data, again.Data)

	// The record's TTL is the session's expiry.
	at, err := c.PExpireTime(ctx, recKey(testID)).Result()
	require.NoError(t, err)
	assert.InDelta(t, expires.UnixMilli(), at.Milliseconds(), 1)

	// No expiry, no TTL.
	require.NoError(t, l.Save(persist.Record{Data: []byte("x")}, true))
	ttl, err := c.PTTL(ctx, recKey(testID)).Result()
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), ttl)
	require.NoError(t, l.Release())
}

func TestSaveRejectsTimesItCannotStore(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{})
	l := lock(t, s, testID, nil)
	defer l.Release()
	for name, rec := range map[string]persist.Record{
		"expires after 2262":   {Expires: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
		"created before 1678":  {Created: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)},
		"created at the epoch": {Created: time.Unix(0, 0)},
	} {
		assert.Error(t, l.Save(rec, false), name)
	}
	_, err := l.Load()
	assert.ErrorIs(t, err, persist.ErrNotFound, "nothing was written")
}

// dropReply is a go-redis hook that, when armed, lets one command run on
// the server and then fails it, as a connection lost before the reply
// would.
type dropReply struct{ armed *atomic.Bool }

var errDropped = errors.New("reply lost")

func (h dropReply) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h dropReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h dropReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if h.armed.CompareAndSwap(true, false) {
			cmd.SetErr(errDropped)
			return errDropped
		}
		return err
	}
}

func TestSaveWhoseReplyIsLost(t *testing.T) {
	srv := startRedis(t)
	c := srv.client(t)
	var armed atomic.Bool
	c.AddHook(dropReply{&armed})
	s, err := redisstore.New(c, redisstore.Config{})
	require.NoError(t, err)
	defer s.Close()
	l := lock(t, s, testID, nil)
	defer l.Release()
	require.NoError(t, l.Save(persist.Record{Data: []byte("one")}, false))

	armed.Store(true)
	err = l.Save(persist.Record{Data: []byte("two")}, false)
	require.ErrorIs(t, err, errDropped)
	require.NotErrorIs(t, err, persist.ErrLockLost)
	b, err := c.Get(context.Background(), recKey(testID)).Bytes()
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(b), "two"), "the failed Save committed")

	// The holder, which rolled back, must not write over what it has not
	// seen: its next Save finds the version moved.
	assert.ErrorIs(t, l.Save(persist.Record{Data: []byte("one, then three")}, false), persist.ErrLockLost)
}

func TestKeysNeverHoldTheID(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{Prefix: "app:"})
	c := srv.client(t)
	l := lock(t, s, testID, nil)
	require.NoError(t, l.Save(persist.Record{Data: []byte("x")}, false))
	keys, err := c.Keys(context.Background(), "*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"app:{" + keyOf(testID) + "}:rec", "app:{" + keyOf(testID) + "}:lock"}, keys)
	require.NoError(t, l.Delete())
	keys, err = c.Keys(context.Background(), "*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "Delete leaves nothing behind")
}

func TestLockExcludesAndAsksTheHolder(t *testing.T) {
	srv := startRedis(t)
	s1 := srv.store(t, redisstore.Config{})
	s2 := srv.store(t, redisstore.Config{})

	asked := make(chan struct{}, 1)
	l1 := lock(t, s1, testID, func() {
		select {
		case asked <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := s2.Lock(ctx, testID, nil)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	<-asked // the waiter's request reached the holder

	// A waiter gets the lease as soon as the holder releases.
	got := make(chan error, 1)
	go func() {
		l2, err := s2.Lock(context.Background(), testID, nil)
		if err == nil {
			err = l2.Release()
		}
		got <- err
	}()
	<-asked
	require.NoError(t, l1.Release())
	require.NoError(t, <-got)
}

func TestLockInOneStoreAsksItsOwnHolder(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{})
	l1 := lock(t, s, testID, nil)
	var l1Released = make(chan struct{})
	go func() {
		defer close(l1Released)
		_ = l1.Release()
	}()
	l2 := lock(t, s, testID, nil)
	<-l1Released
	require.NoError(t, l2.Release())
}

func TestReleasedLockRefusesEverything(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{})
	for name, end := range map[string]func(persist.Lock) error{
		"Release":    persist.Lock.Release,
		"Delete":     persist.Lock.Delete,
		"Quarantine": func(l persist.Lock) error { _ = l.Quarantine(errors.New("bad")); return nil },
	} {
		t.Run(name, func(t *testing.T) {
			l := lock(t, s, testID, nil)
			require.NoError(t, l.Save(persist.Record{Data: []byte("x")}, false))
			require.NoError(t, end(l))
			_, err := l.Load()
			assert.ErrorIs(t, err, persist.ErrReleased)
			assert.ErrorIs(t, l.Save(persist.Record{}, false), persist.ErrReleased)
			assert.ErrorIs(t, l.Delete(), persist.ErrReleased)
			assert.ErrorIs(t, l.Quarantine(errors.New("x")), persist.ErrReleased)
			assert.ErrorIs(t, l.Release(), persist.ErrReleased)
			lock(t, s, testID, nil).Delete()
		})
	}
}

func TestDeleteRemovesTheRecord(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{})
	l := lock(t, s, testID, nil)
	require.NoError(t, l.Save(persist.Record{Data: []byte("x")}, false))
	require.NoError(t, l.Delete())
	l = lock(t, s, testID, nil)
	_, err := l.Load()
	assert.ErrorIs(t, err, persist.ErrNotFound)
	assert.NoError(t, l.Delete(), "deleting a missing record")
}

func TestCorruptRecordIsQuarantined(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{})
	c := srv.client(t)
	ctx := context.Background()
	for name, bad := range map[string]func() error{
		"short":      func() error { return c.Set(ctx, recKey(testID), "x", 0).Err() },
		"format":     func() error { return c.Set(ctx, recKey(testID), "\x02"+string(rawRecord(1, 0, "", "x")[1:]), 0).Err() },
		"owner":      func() error { return c.Set(ctx, recKey(testID), rawRecord(1, 0, "alice", "")[:40], 0).Err() },
		"version 0":  func() error { return c.Set(ctx, recKey(testID), rawRecord(0, 0, "", "x"), 0).Err() },
		"not string": func() error { return c.HSet(ctx, recKey(testID), "v", "1").Err() },
	} {
		require.NoError(t, bad(), name)
		l := lock(t, s, testID, nil)
		_, err := l.Load()
		require.ErrorIs(t, err, persist.ErrCorrupt, name)
		require.NoError(t, l.Save(persist.Record{Data: []byte("fresh")}, false), "%s: the record was moved aside", name)
		require.NoError(t, l.Delete(), name)
	}
	require.NoError(t, c.Set(ctx, recKey(testID), "x", 0).Err())

	l := lock(t, s, testID, nil)
	_, err := l.Load()
	require.ErrorIs(t, err, persist.ErrCorrupt)
	require.ErrorIs(t, err, persist.ErrNotFound)
	var cerr *persist.CorruptError
	require.ErrorAs(t, err, &cerr)
	assert.Equal(t, recKey(testID), cerr.Path)
	require.NotEmpty(t, cerr.Quarantine)
	n, err := c.Exists(ctx, recKey(testID), cerr.Quarantine).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "the record moved to the quarantine key")
	require.NoError(t, l.Delete())

	// Quarantine on request of the caller (data it could not decode).
	l = lock(t, s, testID, nil)
	require.NoError(t, l.Save(persist.Record{Data: []byte("x")}, false))
	err = l.Quarantine(errors.New("undecodable"))
	require.ErrorAs(t, err, &cerr)
	assert.ErrorIs(t, err, persist.ErrNotFound)
	require.NotEmpty(t, cerr.Quarantine)
	l = lock(t, s, testID, nil) // Quarantine released the lease
	_, err = l.Load()
	assert.ErrorIs(t, err, persist.ErrNotFound)
	require.NoError(t, l.Release())
}

func TestWritesAreFencedByTheLease(t *testing.T) {
	srv := startRedis(t)
	s1 := srv.store(t, redisstore.Config{})
	s2 := srv.store(t, redisstore.Config{})
	c := srv.client(t)
	ctx := context.Background()

	l1 := lock(t, s1, testID, nil)
	require.NoError(t, l1.Save(persist.Record{Data: []byte("one")}, false))
	// A failover that loses the lease key: another holder gets in.
	require.NoError(t, c.Del(ctx, lockKey(testID)).Err())
	l2 := lock(t, s2, testID, nil)
	rec, err := l2.Load()
	require.NoError(t, err)
	require.NoError(t, l2.Save(persist.Record{Data: append(rec.Data, "+two"...)}, false))

	assert.ErrorIs(t, l1.Save(persist.Record{Data: []byte("stale")}, false), persist.ErrLockLost)
	assert.ErrorIs(t, l1.Delete(), persist.ErrLockLost)
	require.NoError(t, l2.Release())

	l := lock(t, s1, testID, nil)
	rec, err = l.Load()
	require.NoError(t, err)
	assert.Equal(t, "one+two", string(rec.Data))
	require.NoError(t, l.Release())
}

func TestWritesAreFencedByTheVersion(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{})
	c := srv.client(t)
	ctx := context.Background()

	l := lock(t, s, testID, nil)
	require.NoError(t, l.Save(persist.Record{Data: []byte("one")}, false))
	// The lease survived but the record changed: writes were lost or
	// replayed by a failover. The holder's view is stale.
	other := rawRecord(7, time.Now().Add(time.Hour).UnixMilli(), "bob", "other")
	require.NoError(t, c.Set(ctx, recKey(testID), other, time.Hour).Err())
	assert.ErrorIs(t, l.Save(persist.Record{Data: []byte("two")}, false), persist.ErrLockLost)
	d, err := c.Get(ctx, recKey(testID)).Result()
	require.NoError(t, err)
	assert.Equal(t, string(other), d, "the record the holder did not see is put back")
	ttl, err := c.PTTL(ctx, recKey(testID)).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 59*time.Minute, "with its TTL")
	assert.ErrorIs(t, l.Delete(), persist.ErrLockLost)
	n, err := c.Exists(ctx, recKey(testID), lockKey(testID)).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "the record stays, the lease is ended")
}

func TestRecordThatExpiredWhileHeldIsWrittenAgain(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{})
	c := srv.client(t)
	l := lock(t, s, testID, nil)
	require.NoError(t, l.Save(persist.Record{Data: []byte("one")}, false))
	require.NoError(t, c.Del(context.Background(), recKey(testID)).Err()) // its TTL ran out
	require.NoError(t, l.Save(persist.Record{Data: []byte("two")}, false))
	rec, err := l.Load()
	require.NoError(t, err)
	assert.Equal(t, "two", string(rec.Data))
	require.NoError(t, l.Release())
}

func TestLeaseIsRenewedWhileHeld(t *testing.T) {
	srv := startRedis(t)
	const ttl = 300 * time.Millisecond
	s1 := srv.store(t, redisstore.Config{LeaseTTL: ttl})
	s2 := srv.store(t, redisstore.Config{LeaseTTL: ttl})
	l1 := lock(t, s1, testID, nil) // nil wanted: it never hands over
	ctx, cancel := context.WithTimeout(context.Background(), 4*ttl)
	defer cancel()
	_, err := s2.Lock(ctx, testID, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the lease outlived its TTL because it was renewed")
	require.NoError(t, l1.Save(persist.Record{Data: []byte("x")}, false))
	require.NoError(t, l1.Release())
}

func TestLostLeaseIsNoticedByTheRenewer(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{LeaseTTL: 60 * time.Millisecond})
	c := srv.client(t)
	lost := make(chan struct{}, 1)
	l := lock(t, s, testID, func() {
		select {
		case lost <- struct{}{}:
		default:
		}
	})
	require.NoError(t, c.Del(context.Background(), lockKey(testID)).Err())
	<-lost // the holder is told to let go
	assert.ErrorIs(t, l.Save(persist.Record{}, false), persist.ErrLockLost)
	assert.NoError(t, l.Release(), "releasing a lost lease lets go")
}

func TestReleasedLeaseIsNotReportedLost(t *testing.T) {
	srv := startRedis(t)
	// Renewals every 3ms, racing the releases below: a renewal that finds
	// a lease just released must not report it lost (a false warning, and
	// a wanted that the engine would act on by session ID).
	s := srv.store(t, redisstore.Config{LeaseTTL: 10 * time.Millisecond})
	var late atomic.Int64 // wanted calls on a Lock already being released
	deadline := time.Now().Add(time.Second)
	for i := 0; i < 3000 && time.Now().Before(deadline); i++ {
		var releasing atomic.Bool
		l := lock(t, s, testID, func() {
			if releasing.Load() {
				late.Add(1)
			}
		})
		releasing.Store(true)
		require.NoError(t, l.Release())
	}
	assert.Zero(t, late.Load(), "wanted called after Release")
}

func TestLockHonoursContextAndClose(t *testing.T) {
	srv := startRedis(t)
	s1 := srv.store(t, redisstore.Config{})
	s2, err := redisstore.New(srv.client(t), redisstore.Config{})
	require.NoError(t, err)
	l1 := lock(t, s1, testID, nil)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s2.Lock(ctx, testID, nil)
	assert.ErrorIs(t, err, context.Canceled)

	waiting := make(chan error, 1)
	go func() {
		_, err := s2.Lock(context.Background(), testID, nil)
		waiting <- err
	}()
	require.NoError(t, s2.Close())
	assert.ErrorIs(t, <-waiting, persist.ErrClosed)
	_, err = s2.Lock(context.Background(), testID, nil)
	assert.ErrorIs(t, err, persist.ErrClosed)
	_, err = s2.Sweep(context.Background(), time.Now())
	assert.ErrorIs(t, err, persist.ErrClosed)
	assert.NoError(t, s2.Close(), "Close is idempotent")
	require.NoError(t, l1.Release())
}

func TestSweepKeepsToItsPrefix(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{Prefix: "a*[b]:"})
	other := srv.store(t, redisstore.Config{Prefix: "ab:"})
	past := persist.Record{Expires: time.Now().Add(time.Hour), Data: []byte("x")}
	for _, st := range []*redisstore.Store{s, other} {
		l := lock(t, st, testID, nil)
		require.NoError(t, l.Save(past, false))
		require.NoError(t, l.Release())
	}
	rep, err := s.Sweep(context.Background(), time.Now().Add(2*time.Hour))
	require.NoError(t, err)
	if assert.Len(t, rep.Removed, 1) {
		assert.Equal(t, keyOf(testID), rep.Removed[0].Key)
		assert.Equal(t, int64(1), rep.Removed[0].Bytes)
	}
	rep.Removed = nil
	assert.Equal(t, persist.SweepReport{Expired: 1}, rep)
	l := lock(t, other, testID, nil)
	_, err = l.Load()
	assert.NoError(t, err, "another prefix's record is left alone")
	require.NoError(t, l.Release())
}

func TestConformance(t *testing.T) {
	srv := startRedis(t)
	storetest.Run(t, func(t *testing.T) persist.Store {
		st, err := redisstore.New(srv.client(t), redisstore.Config{Prefix: "conformance:" + t.Name() + ":"})
		require.NoError(t, err)
		return st
	}, storetest.HandsOver())
}

func TestInspectorReadsLongOwnersAndQuarantinedRecords(t *testing.T) {
	srv := startRedis(t)
	s := srv.store(t, redisstore.Config{})
	c := srv.client(t)
	ctx := context.Background()

	long := strings.Repeat("o", 1000) // past what Sessions reads of each record at first
	l := lock(t, s, testID, nil)
	require.NoError(t, l.Save(persist.Record{Owner: long, Data: []byte("x")}, false))
	require.NoError(t, l.Release())
	var infos []persist.Info
	require.NoError(t, s.Sessions(ctx, long, func(info persist.Info) error {
		infos = append(infos, info)
		return nil
	}))
	require.Len(t, infos, 1)
	assert.Equal(t, keyOf(testID), infos[0].Key)
	assert.Equal(t, long, infos[0].Owner)

	// A record that does not decode: Sessions skips it, Inspect reports
	// it, and once Load set it aside, Quarantined reads it back.
	const other = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	require.NoError(t, c.Set(ctx, recKey(other), "garbage", 0).Err())
	n := 0
	require.NoError(t, s.Sessions(ctx, "", func(persist.Info) error { n++; return nil }))
	assert.Equal(t, 1, n, "sessions listed besides the one that does not decode")
	_, _, err := s.Inspect(ctx, keyOf(other))
	var cerr *persist.CorruptError
	require.ErrorAs(t, err, &cerr)
	assert.ErrorIs(t, err, persist.ErrNotFound)

	l = lock(t, s, other, nil)
	_, err = l.Load()
	require.ErrorIs(t, err, persist.ErrCorrupt)
	require.NoError(t, l.Release())
	var qs []persist.Quarantined
	require.NoError(t, s.Quarantined(ctx, "", func(q persist.Quarantined) error {
		qs = append(qs, q)
		return nil
	}))
	require.Len(t, qs, 1)
	assert.Equal(t, keyOf(other), qs[0].Key)
	assert.Equal(t, int64(len("garbage")), qs[0].Bytes)
	assert.ErrorContains(t, qs[0].Err, "shorter than its header")
	assert.WithinDuration(t, time.Now(), qs[0].Time, time.Minute)
	require.NoError(t, s.Quarantined(ctx, keyOf(testID), func(persist.Quarantined) error {
		t.Error("a quarantined record of another session")
		return nil
	}))
	assert.ErrorIs(t, s.Quarantined(ctx, "nokey", nil), persist.ErrBadKey)
}
