package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// Store is what the commands run on: a store whose sessions can be listed,
// read and locked by key.
type Store interface {
	persist.Store
	persist.Inspector
}

// Backend selects and opens the store the commands run on.
type Backend struct {
	// Synopsis shows the backend's flags in the usage text, e.g.
	// "-dir DIR".
	Synopsis string

	// Flags registers the backend's flags on fs and returns the function
	// that opens the store once fs is parsed. open reports a missing or
	// malformed flag with an error made by Usagef (exit status 2); any
	// other error is operational (exit status 1). log receives what the
	// store logs without returning it. The store is closed by Main.
	Flags func(fs *flag.FlagSet) (open func(log *slog.Logger) (Store, error))
}

// defaultTimeout is how long rm and revoke wait for one session's lock
// (a live holder finishes its turn and hands the session over), unless
// -timeout says otherwise.
const defaultTimeout = 10 * time.Second

// usageError is bad usage: Main exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Usagef returns an error that makes Main report bad usage (exit status 2).
func Usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command is one of the commands. parse checks its flags and arguments
// and returns it ready to run.
type command struct {
	name     string
	synopsis string // flags and arguments
	summary  string
	parse    func(args []string) (run, error)
}

// run is a parsed command.
type run func(ctx context.Context, e *env) error

// commandList returns the commands, in the order of the usage text.
func commandList() []command {
	return []command{
		{"ls", "[-owner NAME] [-json]", "list stored sessions: key, owner, created, expires, bytes, locked", parseLs},
		{"show", "KEY", "print a session's record and values, and its quarantined records with why", parseShow},
		{"rm", "KEY...", "destroy sessions by key (live holders hand them over first)", parseRm},
		{"revoke", "-owner NAME", "destroy every session of an owner; prints how many", parseRevoke},
		{"sweep", "[-json]", "remove expired sessions and litter now; prints what it removed", parseSweep},
		{"stats", "[-json]", "count sessions, locks, bytes, owners, quarantined records and litter", parseStats},
	}
}

// env is what a running command has.
type env struct {
	prog    string
	store   Store
	out     io.Writer
	timeout time.Duration
	now     time.Time
}

// Main runs one command line over the store that backend opens: args are
// the arguments after the program's name (os.Args[1:]), prog is the
// program's name for messages. It writes the command's output to stdout
// and, on failure, a one-line message to stderr, and returns the exit
// status: 0 on success, 1 on an operational error, 2 on bad usage.
func Main(ctx context.Context, prog string, args []string, stdout, stderr io.Writer, backend Backend) int {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	open := backend.Flags(fs)
	timeout := fs.Duration("timeout", defaultTimeout, "how long rm and revoke wait for each session's lock")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, prog, backend, fs)
			return 0
		}
		return fail(stderr, prog, Usagef("%v", err))
	}
	if fs.NArg() == 0 {
		return fail(stderr, prog, Usagef("no command (one of %s)", commandNames()))
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	var cmd *command
	for _, c := range commandList() {
		if c.name == name {
			cmd = &c
		}
	}
	if cmd == nil {
		return fail(stderr, prog, Usagef("unknown command %q (one of %s)", name, commandNames()))
	}
	if *timeout <= 0 {
		return fail(stderr, prog, Usagef("-timeout must be positive, got %v", *timeout))
	}
	// Arguments are checked before the store is opened: bad usage touches
	// nothing.
	run, err := cmd.parse(rest)
	if err != nil {
		return fail(stderr, prog, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := open(log)
	if err != nil {
		return fail(stderr, prog, err)
	}
	e := &env{prog: prog, store: st, out: stdout, timeout: *timeout, now: time.Now()}
	err = run(ctx, e)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fail(stderr, prog, err)
	}
	return 0
}

// fail writes err as one line and returns its exit status.
func fail(stderr io.Writer, prog string, err error) int {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "%s: %s (%s -h for usage)\n", prog, msg, prog)
		return 2
	}
	fmt.Fprintf(stderr, "%s: %s\n", prog, msg)
	return 1
}

func commandNames() string {
	cmds := commandList()
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// usage writes the usage text.
func usage(w io.Writer, prog string, backend Backend, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s %s [-timeout D] COMMAND [ARGS]\n\ncommands:\n", prog, backend.Synopsis)
	for _, c := range commandList() {
		fmt.Fprintf(w, "  %-7s %-22s %s\n", c.name, c.synopsis, c.summary)
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nexit status: 0 success, 1 operational error, 2 bad usage\n")
}
