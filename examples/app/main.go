// Command app is a small web application on lockstep sessions. It shows
// what a real application does with them:
//
//   - a visit counter, shown on the home page and incremented by fetch()
//     calls from it: requests of one session that overlap lose nothing;
//   - a login that regenerates the session ID and makes the user the
//     session's owner, a logout that destroys the session, and "log out
//     everywhere" and "password changed", which destroy every session of
//     the user (Engine.DestroyOwner);
//   - a flash message ("Welcome, ann.") taken with engine.Pop, so that it
//     is shown exactly once, however many requests race for it;
//   - cross-origin protection on every form and fetch (Go's
//     http.CrossOriginProtection);
//   - /session, the values of this session;
//   - /debug/vars, the engine's counters with expvar;
//   - /metrics, the engine's OpenTelemetry metrics in Prometheus's text
//     format, and /admin/, the dashboard (package dashboard) for a
//     logged-in user, where sessions are listed and revoked; every
//     session's creation, regeneration, destruction and expiry is logged;
//   - /slow and /slow-implicit, which show what the locking modes do to
//     concurrent requests of one session.
//
// Run it from the examples module:
//
//	go -C examples run ./app -addr 127.0.0.1:8080 -dir /tmp/lockstep-example
//
// Then open http://127.0.0.1:8080/. Sessions are files in -dir (by default
// lockstep-example in the system's temporary directory), or, with
// -redis ADDR, records on that Redis server (persist/redisstore), or, with
// -postgres DSN, rows in that PostgreSQL database (persist/pgstore): start
// several instances on other ports and they share the sessions, as hosts
// behind a load balancer would. The server stops cleanly on SIGINT or
// SIGTERM, saving the sessions in memory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist/redisstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "lockstep-example"), "directory of the session files")
	redisAddr := flag.String("redis", "", "Redis address (host:port); sessions go there instead of -dir")
	work := flag.Duration("work", 2*time.Second, "how long the slow pages work")
	pgDSN := flag.String("postgres", "", "PostgreSQL connection string; sessions go there instead of -dir")
	flag.Parse()
	if err := run(*addr, *dir, *redisAddr, *pgDSN, *work); err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

// idleTimeout is how long a session lives unused, and its cookie's Max-Age.
const idleTimeout = 30 * time.Minute

func run(addr, dir, redisAddr, pgDSN string, work time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	obs, err := newObservability()
	if err != nil {
		return err
	}
	defer obs.Close()
	eng, where, closeEngine, err := openBackend(ctx, dir, redisAddr, pgDSN, obs)
	if err != nil {
		return err
	}
	defer closeEngine() // after the server has stopped: saves what is in memory

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newHandler(eng, work, obs),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	slog.Info("app: serving", "url", "http://"+ln.Addr().String()+"/", "sessions", where)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("app: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if cerr := eng.Close(); err == nil {
		err = cerr
	}
	return err
}

// engineConfig returns the application's engine configuration, wired to
// obs when it is not nil.
func engineConfig(obs *observability) (engine.Config, error) {
	cfg := engine.Config{IdleTimeout: idleTimeout}
	if obs == nil {
		return cfg, nil
	}
	return obs.wire(cfg)
}

// openEngine returns the application's engine: over the session files in
// dir, or over the Redis server at redisAddr if it is not empty. It also
// says where the sessions are, and returns the function that closes the
// engine (saving what is in memory) and then what it runs on. With obs, the
// engine reports to it.
func openEngine(dir, redisAddr string, obs *observability) (eng *engine.Engine, where string, closeAll func() error, err error) {
	cfg, err := engineConfig(obs)
	if err != nil {
		return nil, "", nil, err
	}
	if redisAddr == "" {
		eng, err = engine.Open(dir, cfg)
		if err != nil {
			return nil, "", nil, err
		}
		return eng, dir, eng.Close, nil
	}
	client := redis.NewClient(&redis.Options{Addr: redisAddr})
	store, err := redisstore.New(client, redisstore.Config{})
	if err != nil {
		client.Close()
		return nil, "", nil, err
	}
	cfg.SweepInterval = -1 // Redis expires records by itself
	if eng, err = engine.New(store, cfg); err != nil {
		store.Close()
		client.Close()
		return nil, "", nil, err
	}
	closeAll = func() error {
		return errors.Join(eng.Close(), store.Close(), client.Close())
	}
	return eng, "redis://" + redisAddr, closeAll, nil
}
