// Command lockstep is the operator's command line for lockstep sessions:
// list, inspect, remove and revoke stored sessions, sweep, and count, in a
// session directory, in Redis or in PostgreSQL. It works on a store that
// live engines are using without breaking their locks: rm and revoke ask a
// holder to hand a session over, as an engine would. docs/operations.md is its manual.
//
//	go install github.com/lockstep-go/lockstep/cmd/lockstep@latest
//
//	lockstep STORE ls [-owner NAME] [-json]
//	lockstep STORE show [-json] KEY
//	lockstep STORE rm KEY...
//	lockstep STORE revoke -owner NAME
//	lockstep STORE sweep [-json]
//	lockstep STORE stats [-json]
//
// STORE is one of:
//
//	-dir DIR                  a session directory (engine.Open, filestore.Open)
//	-redis ADDR [-prefix P]   a Redis store (persist/redisstore), P its Config.Prefix
//	-postgres DSN [-table T]  a PostgreSQL store (persist/pgstore), T its Config.Table
//
// ADDR is host:port; a redis:// or rediss:// URL
// (redis[s]://[USER:PASS@]HOST[:PORT][/DB]); several host:port separated
// by commas for a Redis Cluster (also after redis[s]://USER:PASS@); or
// sentinel[s]://[USER:PASS@]HOST:PORT,HOST:PORT/MASTER[/DB] for the
// primary that the sentinels at those addresses know as MASTER.
//
// DSN is a connection string as pgx reads it,
// postgres://[USER[:PASS]@]HOST[:PORT]/DB[?PARAMS] or "host=... dbname=...",
// also PgBouncer's address; messages show it without its password.
//
// Exit status: 0 on success, 1 on an operational error, 2 on bad usage,
// with a one-line message on stderr.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/redis/go-redis/v9"

	"github.com/lockstep-go/lockstep/cmd/lockstep/internal/cli"
)

// quiet is a go-redis logger that drops everything.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func main() {
	// go-redis logs its retries to stderr; the command reports the error
	// it ends with, in one line.
	redis.SetLogger(quiet{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, "lockstep", os.Args[1:], os.Stdout, os.Stderr, cli.Backends()...)
	stop()
	os.Exit(code)
}
