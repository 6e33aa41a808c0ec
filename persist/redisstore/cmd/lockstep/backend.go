package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lockstep-go/lockstep/internal/cli"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
)

// dialTimeout bounds the first PING, so that a wrong address fails fast.
const dialTimeout = 5 * time.Second

// backend returns the Backend of this command: the Redis store named by
// -redis and -prefix.
func backend() cli.Backend {
	return cli.Backend{
		Synopsis: "-redis ADDR [-prefix P]",
		Flags: func(fs *flag.FlagSet) func(*slog.Logger) (cli.Store, error) {
			addr := fs.String("redis", "", "the Redis server: host:port, a redis:// URL, or host:port,... of a cluster (required)")
			prefix := fs.String("prefix", redisstore.DefaultPrefix, "the store's key prefix (its Config.Prefix)")
			return func(log *slog.Logger) (cli.Store, error) {
				if *addr == "" {
					return nil, cli.Usagef("-redis ADDR is required")
				}
				client, err := newClient(*addr)
				if err != nil {
					return nil, cli.Usagef("-redis %s: %v", *addr, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
				defer cancel()
				if err := client.Ping(ctx).Err(); err != nil {
					return nil, errors.Join(fmt.Errorf("-redis %s: %w", *addr, err), client.Close())
				}
				st, err := redisstore.New(client, redisstore.Config{Prefix: *prefix, Logger: log})
				if err != nil {
					return nil, errors.Join(cli.Usagef("%v", err), client.Close())
				}
				return &store{Store: st, client: client}, nil
			}
		},
	}
}

// newClient returns a client of addr: a URL, a cluster's comma-separated
// addresses, or one host:port.
func newClient(addr string) (redis.UniversalClient, error) {
	switch {
	case strings.HasPrefix(addr, "redis://") || strings.HasPrefix(addr, "rediss://"):
		opt, err := redis.ParseURL(addr)
		if err != nil {
			return nil, err
		}
		return redis.NewClient(opt), nil
	case strings.Contains(addr, ","):
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addr, ",")}), nil
	}
	return redis.NewClient(&redis.Options{Addr: addr}), nil
}

// store is the Redis store with the client it owns: Close closes both.
type store struct {
	*redisstore.Store
	client redis.UniversalClient
}

func (s *store) Close() error { return errors.Join(s.Store.Close(), s.client.Close()) }
