package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultWaitTimeout is WAIT's timeout when Config.WaitReplicas > 0 and
// Config.WaitTimeout is zero.
const DefaultWaitTimeout = 100 * time.Millisecond

// ErrNotReplicated is returned (wrapped) when a write reached the primary
// but fewer than Config.WaitReplicas replicas acknowledged it within
// Config.WaitTimeout: the write was not acknowledged, and a failover may
// lose it. A lease that was not replicated is released, and Lock fails; a
// Save that was not replicated also matches persist.ErrLockLost, because
// the record is then in doubt and the engine must load it again.
var ErrNotReplicated = errors.New("redisstore: write not acknowledged by enough replicas")

// notReplicated reports that a write reached acks replicas, fewer than the
// Store's WaitReplicas.
func (s *Store) notReplicated(op, key string, acks int64) error {
	return fmt.Errorf("redisstore: %s session %s: %d of %d replicas acknowledged within %v: %w",
		op, key, acks, s.waitN, s.waitTimeout, ErrNotReplicated)
}

// write runs a script that changes one session (args as they go on the
// wire: "evalsha", the script's hash, the number of keys, the keys, the
// arguments; slotKey is one of the keys). Without WaitReplicas it returns
// the script's reply and acks 0. With it, the script and WAIT go in one
// pipeline, one round trip on one connection, to the primary that owns
// the session's slot (on a Cluster, the node that MasterForKey names: a
// keyless WAIT in a Cluster pipeline would go to any node), and acks is
// what WAIT returned. A MOVED or ASK reply (the slot moved, a failover)
// fails the write.
func (s *Store) write(ctx context.Context, script *redis.Script, slotKey string, args []any) (reply any, acks int64, err error) {
	if s.waitN == 0 {
		reply, err = s.eval(ctx, script, args)
		return reply, 0, err
	}
	c := s.single
	if c == nil {
		if c, err = s.cluster.MasterForKey(ctx, slotKey); err != nil {
			return nil, 0, err
		}
	}
	for attempt := 0; ; attempt++ {
		p := c.Pipeline()
		cmd := p.Do(ctx, args...)
		wait := p.Do(ctx, "wait", s.waitN, s.waitTimeout.Milliseconds())
		_, _ = p.Exec(ctx) // errors are the commands'
		reply, err = cmd.Result()
		if err != nil && isNoScript(err) && attempt == 0 {
			if err = script.Load(ctx, c).Err(); err == nil {
				continue
			}
		}
		if err != nil {
			if s.cluster != nil && isMoved(err) {
				s.cluster.ReloadState(ctx)
			}
			return reply, 0, err
		}
		acks, err = wait.Int64()
		if err != nil {
			return reply, 0, fmt.Errorf("wait: %w", err)
		}
		return reply, acks, nil
	}
}

// eval runs a script (args as write takes them) without WAIT, loading the
// script and trying again once if Redis does not have it (it restarted):
// Script.Run does the same, but its arguments would be boxed on every
// call.
func (s *Store) eval(ctx context.Context, script *redis.Script, args []any) (any, error) {
	reply, err := s.client.Do(ctx, args...).Result()
	if err != nil && isNoScript(err) {
		if err = script.Load(ctx, s.client).Err(); err == nil {
			reply, err = s.client.Do(ctx, args...).Result()
		}
	}
	return reply, err
}

// int64Reply reads a script's integer reply.
func int64Reply(reply any) (int64, error) {
	n, ok := reply.(int64)
	if !ok {
		return 0, fmt.Errorf("unexpected script reply %v", reply)
	}
	return n, nil
}

// isMoved reports a Cluster redirection: the slot is served elsewhere now.
func isMoved(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && (redis.HasErrorPrefix(rerr, "MOVED") || redis.HasErrorPrefix(rerr, "ASK"))
}
