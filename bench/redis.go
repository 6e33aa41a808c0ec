package main

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	scsredis "github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/redisstore"
	"github.com/redis/go-redis/v9"
)

// The Redis systems run on one private redis-server that the suite starts
// (Run, through startRedis) and whose address it passes to them, and to
// hand-over children, in this variable. Set it to use a server of your own.
const redisAddrEnv = "LOCKSTEP_BENCH_REDIS"

// errSkip marks a system that cannot run here; the suite notes it and goes on.
var errSkip = errors.New("skipped")

// redisNames are the session systems on Redis, compared in the workloads
// that apply to them.
var redisNames = []string{"lockstep-redis", "scs-redisstore"}

func redisSystems() []System {
	return []System{lockstepOver{"lockstep-redis", openRedisStore}, scsRedisstore{}, redisSetFloor{}, lockstepOver{"lockstep-redis-wait", openReplicatedRedisStore}}
}

// needsRedis reports whether a run of p includes a Redis system.
func needsRedis(p Params) bool {
	return p.runs(func(s string) bool { return slices.Contains(redisNames, s) || s == "redis-set" })
}

// runs reports whether a run of p includes a system that is reports true for.
func (p Params) runs(is func(system string) bool) bool {
	for _, wl := range workloads {
		if p.Only != nil && !slices.Contains(p.Only, wl.name) {
			continue
		}
		for _, s := range wl.systems {
			if is(s) && (p.Systems == nil || slices.Contains(p.Systems, s)) {
				return true
			}
		}
	}
	return false
}

// redisAddr returns the server's address, or errSkip.
func redisAddr() (string, error) {
	if addr := os.Getenv(redisAddrEnv); addr != "" {
		return addr, nil
	}
	return "", fmt.Errorf("%w: no redis-server on PATH (install it, or set %s)", errSkip, redisAddrEnv)
}

// redisPrefix keys an instance's sessions by its directory, which a
// hand-over child shares with its parent: the two see the same sessions,
// other instances on the same server do not.
func redisPrefix(dir string) string { return "bench:" + filepath.Base(dir) + ":" }

// startRedis starts a private redis-server without persistence for the run,
// unless one is configured or none is on PATH (the Redis systems are then
// skipped), and returns the func that stops it.
func startRedis(log io.Writer) func() {
	if os.Getenv(redisAddrEnv) != "" {
		return func() {}
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		fmt.Fprintln(log, "bench: no redis-server on PATH: the Redis systems are skipped")
		return func() {}
	}
	dir, err := os.MkdirTemp("", "lockstep-bench-redis-")
	var srv *server
	if err == nil {
		srv, err = startServer(dir)
	}
	if err != nil {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
		fmt.Fprintf(log, "bench: cannot start redis-server (%v): the Redis systems are skipped\n", err)
		return func() {}
	}
	_ = os.Setenv(redisAddrEnv, srv.addr) // for the systems and for hand-over children
	return func() {
		_ = os.Unsetenv(redisAddrEnv)
		srv.stop()
		_ = os.RemoveAll(dir)
	}
}

// openRedisStore returns persist/redisstore on the suite's server, under
// a prefix of dir's, and the function that closes its client.
func openRedisStore(dir string, logger *slog.Logger) (persist.Store, func() error, error) {
	addr, err := redisAddr()
	if err != nil {
		return nil, nil, err
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	store, err := redisstore.New(client, redisstore.Config{Prefix: redisPrefix(dir), Logger: logger})
	if err != nil {
		_ = client.Close()
		return nil, nil, err
	}
	return store, client.Close, nil
}

// scsRedisstore is alexedwards/scs with its own Redis store (redigo), as
// scs-memstore but with every load and commit a Redis round trip.
type scsRedisstore struct{}

func (scsRedisstore) Name() string { return "scs-redisstore" }

func (scsRedisstore) Open(dir string) (Instance, error) {
	addr, err := redisAddr()
	if err != nil {
		return nil, err
	}
	pool := &redigo.Pool{
		MaxIdle: 64,
		Dial:    func() (redigo.Conn, error) { return redigo.Dial("tcp", addr) },
	}
	sm := scs.New()
	sm.Store = scsredis.NewWithPrefix(pool, redisPrefix(dir))
	sm.IdleTimeout = time.Hour
	sm.Cookie.Name = cookieName
	return &scsRedisInst{scsInst: &scsInst{sm: sm}, pool: pool}, nil
}

type scsRedisInst struct {
	*scsInst
	pool *redigo.Pool
}

func (i *scsRedisInst) Close() error { return i.pool.Close() }

// redisSetFloor is no session system: each Write is one bare SET of the
// bytes lockstep stores for the workload's session, the floor of a write
// that must reach Redis.
type redisSetFloor struct{}

func (redisSetFloor) Name() string { return "redis-set" }

func (redisSetFloor) Open(dir string) (Instance, error) {
	addr, err := redisAddr()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(map[string]any{counterKey: 1}); err != nil {
		return nil, err
	}
	return &redisSetInst{client: redis.NewClient(&redis.Options{Addr: addr}), prefix: redisPrefix(dir), data: buf.Bytes()}, nil
}

type redisSetInst struct {
	client *redis.Client
	prefix string
	data   []byte
}

func (i *redisSetInst) Create(ctx context.Context) (string, error) {
	id := newToken()
	return id, i.client.Set(ctx, i.prefix+id, i.data, time.Hour).Err()
}

func (i *redisSetInst) Read(ctx context.Context, id string) error {
	return i.client.Get(ctx, i.prefix+id).Err()
}

func (i *redisSetInst) Write(ctx context.Context, id string) error {
	return i.client.Set(ctx, i.prefix+id, i.data, time.Hour).Err()
}

func (i *redisSetInst) Update(context.Context, string, func(Values) error) error {
	return errors.New("redis-set: a floor, not a session system")
}

func (i *redisSetInst) Handler(App) http.Handler {
	return http.NotFoundHandler()
}

func (i *redisSetInst) Close() error { return i.client.Close() }
