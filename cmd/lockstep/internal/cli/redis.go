package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
)

// dialTimeout bounds the first PING, so that a wrong address fails fast.
const dialTimeout = 5 * time.Second

// Redis returns the Backend of a Redis store (persist/redisstore), -redis
// ADDR [-prefix P]: ADDR is one of the forms [ParseRedisAddr] reads, P the
// store's Config.Prefix.
func Redis() Backend {
	return Backend{
		Name:     "redis",
		Arg:      "ADDR",
		Usage:    "the Redis server: host:port, redis[s]://[USER:PASS@]HOST:PORT[/DB], host:port,host:port for a Cluster, or sentinel[s]://[USER:PASS@]HOST:PORT,.../MASTER[/DB]",
		Synopsis: "-redis ADDR [-prefix P]",
		Redact: func(addr string) string {
			if a, err := ParseRedisAddr(addr); err == nil {
				return a.String()
			}
			return "ADDR"
		},
		Flags: func(fs *flag.FlagSet) Opener {
			prefix := fs.String("prefix", redisstore.DefaultPrefix, "with -redis: the store's key prefix (its Config.Prefix)")
			return func(ctx context.Context, addr string, log *slog.Logger) (Store, error) {
				a, err := ParseRedisAddr(addr)
				if err != nil {
					return nil, Usagef("-redis: %v", err)
				}
				client := a.client()
				pctx, cancel := context.WithTimeout(ctx, dialTimeout)
				defer cancel()
				if err := client.Ping(pctx).Err(); err != nil {
					return nil, errors.Join(fmt.Errorf("-redis %s: %w", a, err), client.Close())
				}
				st, err := redisstore.New(client, redisstore.Config{Prefix: *prefix, Logger: log})
				if err != nil {
					return nil, errors.Join(Usagef("%v", err), client.Close())
				}
				return &redisStore{Store: st, client: client}, nil
			}
		},
	}
}

// redisStore is the Redis store with the client it owns: Close closes
// both.
type redisStore struct {
	*redisstore.Store
	client redis.UniversalClient
}

func (s *redisStore) Close() error { return errors.Join(s.Store.Close(), s.client.Close()) }
