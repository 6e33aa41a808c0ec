// Command lockstep is the operator's command line for lockstep sessions
// kept in Redis by persist/redisstore: the commands of the library's
// cmd/lockstep (one implementation, internal/cli), over a Redis store
// instead of a directory. It works on a store that live engines are using:
// rm and revoke ask a holder to hand a session over, as an engine would.
// docs/operations.md is its manual, docs/redis.md the store's.
//
//	lockstep -redis ADDR [-prefix P] ls [-owner NAME] [-json]
//	lockstep -redis ADDR [-prefix P] show KEY
//	lockstep -redis ADDR [-prefix P] rm KEY...
//	lockstep -redis ADDR [-prefix P] revoke -owner NAME
//	lockstep -redis ADDR [-prefix P] sweep [-json]
//	lockstep -redis ADDR [-prefix P] stats [-json]
//
// ADDR is host:port, a redis:// or rediss:// URL (with a password or a
// database number), or several host:port separated by commas for a Redis
// Cluster. P is the store's Config.Prefix, "lockstep:" by default.
//
// Exit status: 0 on success, 1 on an operational error, 2 on bad usage.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/lockstep-go/lockstep/internal/cli"
	"github.com/redis/go-redis/v9"
)

// quiet is a go-redis logger that drops everything.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func main() {
	// go-redis logs its retries to stderr; the command reports the error
	// it ends with, in one line.
	redis.SetLogger(quiet{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, "lockstep", os.Args[1:], os.Stdout, os.Stderr, backend())
	stop()
	os.Exit(code)
}
