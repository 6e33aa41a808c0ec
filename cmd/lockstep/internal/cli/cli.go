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

// Backend is one kind of store the commands can run on, chosen by a flag
// of its own that names the store: -dir DIR, -redis ADDR. [Backends]
// lists them; a command line gives exactly one of their flags.
type Backend struct {
	// Name is the name of the flag that chooses the backend and names the
	// store ("dir"), Arg its argument in the usage text ("DIR"), and
	// Usage its help.
	Name, Arg, Usage string

	// Synopsis shows the backend's flags in the usage text, e.g.
	// "-redis ADDR [-prefix P]"; "" means "-Name Arg".
	Synopsis string

	// Flags registers the backend's other flags (-prefix), if it has any,
	// on fs, and returns the function that opens the store named by arg
	// (the value of flag Name) once fs is parsed. The other flags may only
	// be given with flag Name. open reports a missing or malformed argument
	// with an error made by Usagef (exit status 2); any other error is
	// operational (exit status 1). log receives what the store logs without
	// returning it. The store is closed by Main.
	Flags func(fs *flag.FlagSet) (open Opener)

	// Redact, if not nil, returns arg as messages may show it (without a
	// password); nil shows arg as given.
	Redact func(arg string) string
}

// Opener opens the store of a Backend: arg is the value of its flag.
type Opener func(ctx context.Context, arg string, log *slog.Logger) (Store, error)

// synopsis returns b's flags for the usage text.
func (b Backend) synopsis() string {
	if b.Synopsis != "" {
		return b.Synopsis
	}
	return "-" + b.Name + " " + b.Arg
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
		{"show", "[-json] KEY", "print a session's record and values, and its quarantined records with why", parseShow},
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
	errOut  io.Writer // notes that are not the command's output
	timeout time.Duration
	now     time.Time
	where   string // the store's flag and argument, for notes: "-dir /var/sessions"
}

// Main runs one command line over the store that one of backends opens:
// args are the arguments after the program's name (os.Args[1:]), prog is
// the program's name for messages. It writes the command's output to
// stdout and, on failure, a one-line message to stderr, and returns the
// exit status: 0 on success, 1 on an operational error, 2 on bad usage.
func Main(ctx context.Context, prog string, args []string, stdout, stderr io.Writer, backends ...Backend) int {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	type chosen struct {
		b    Backend
		arg  *string
		open Opener
	}
	var all []chosen
	owner := make(map[string]string) // another flag of a backend: the backend's flag
	for _, b := range backends {
		arg := fs.String(b.Name, "", b.Usage)
		before := make(map[string]bool)
		fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
		open := b.Flags(fs)
		fs.VisitAll(func(f *flag.Flag) {
			if !before[f.Name] {
				owner[f.Name] = b.Name
			}
		})
		all = append(all, chosen{b, arg, open})
	}
	timeout := fs.Duration("timeout", defaultTimeout, "how long rm and revoke wait for each session's lock")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, prog, backends, fs)
			return 0
		}
		return fail(stderr, prog, Usagef("%v", err))
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var use []chosen
	for _, c := range all {
		if set[c.b.Name] {
			use = append(use, c)
		}
	}
	switch {
	case len(use) == 0:
		return fail(stderr, prog, Usagef("which store? give %s", storeFlags(backends)))
	case len(use) > 1:
		return fail(stderr, prog, Usagef("-%s and -%s: give one store", use[0].b.Name, use[1].b.Name))
	}
	for name := range set {
		if b, ok := owner[name]; ok && b != use[0].b.Name {
			return fail(stderr, prog, Usagef("-%s goes with -%s, not -%s", name, b, use[0].b.Name))
		}
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
	c := use[0]
	if *c.arg == "" {
		return fail(stderr, prog, Usagef("-%s %s is empty", c.b.Name, c.b.Arg))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := c.open(ctx, *c.arg, log)
	if err != nil {
		return fail(stderr, prog, err)
	}
	e := &env{
		prog: prog, store: st, out: stdout, errOut: stderr, timeout: *timeout, now: time.Now(),
		where: "-" + c.b.Name + " " + *c.arg,
	}
	if c.b.Redact != nil {
		e.where = "-" + c.b.Name + " " + c.b.Redact(*c.arg)
	}
	err = run(ctx, e)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fail(stderr, prog, err)
	}
	return 0
}

// storeFlags lists the backends' flags: "-dir DIR or -redis ADDR".
func storeFlags(backends []Backend) string {
	fl := make([]string, len(backends))
	for i, b := range backends {
		fl[i] = "-" + b.Name + " " + b.Arg
	}
	switch len(fl) {
	case 0:
		return "a store"
	case 1:
		return fl[0]
	}
	return strings.Join(fl[:len(fl)-1], ", ") + " or " + fl[len(fl)-1]
}

// noSessions notes on stderr that ls found no session (of owner, if not
// ""), so that an empty listing is not mistaken for a wrong store.
func (e *env) noSessions(owner string) {
	of := ""
	if owner != "" {
		of = " of owner " + safe(owner)
	}
	fmt.Fprintf(e.errOut, "%s: no sessions%s in %s\n", e.prog, of, e.where)
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
func usage(w io.Writer, prog string, backends []Backend, fs *flag.FlagSet) {
	syn := make([]string, len(backends))
	for i, b := range backends {
		syn[i] = b.synopsis()
	}
	stores := strings.Join(syn, " | ")
	if len(syn) > 1 {
		stores = "(" + stores + ")"
	}
	fmt.Fprintf(w, "usage: %s %s [-timeout D] COMMAND [ARGS]\n\ncommands:\n", prog, stores)
	for _, c := range commandList() {
		fmt.Fprintf(w, "  %-7s %-22s %s\n", c.name, c.synopsis, c.summary)
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nexit status: 0 success, 1 operational error, 2 bad usage\n")
}
