// Command lockstep is the operator's command line for a lockstep session
// directory: list, inspect, remove and revoke stored sessions, sweep, and
// count. It works on a directory that live processes are using without
// breaking their locks. docs/operations.md is its manual.
//
//	lockstep -dir DIR ls [-owner NAME] [-json]
//	lockstep -dir DIR show KEY
//	lockstep -dir DIR rm KEY...
//	lockstep -dir DIR revoke -owner NAME
//	lockstep -dir DIR sweep [-json]
//	lockstep -dir DIR stats [-json]
//
// Exit status: 0 on success, 1 on an operational error, 2 on bad usage.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/lockstep-go/lockstep/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, "lockstep", os.Args[1:], os.Stdout, os.Stderr, cli.Dir())
	stop()
	os.Exit(code)
}
