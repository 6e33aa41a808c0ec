package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/filestore"
)

// flags returns a flag set for a command's flags, which reports errors
// instead of printing them.
func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args on fs and checks that no more than max positional
// arguments remain.
func parseFlags(fs *flag.FlagSet, args []string, max int) error {
	if err := fs.Parse(args); err != nil {
		return Usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > max {
		return Usagef("%s: unexpected argument %s", fs.Name(), quoteArg(fs.Arg(max)))
	}
	return nil
}

// checkKey returns a usage error if key is not a session key: 64 lowercase
// hex characters, never a path.
func checkKey(cmd, key string) error {
	if !isKey(key) {
		return Usagef("%s: %s is not a session key (64 lowercase hex characters)", cmd, quoteArg(key))
	}
	return nil
}

func isKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// quoteArg quotes an argument for a message, cut short if it is long.
func quoteArg(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

func parseLs(args []string) (run, error) {
	fs := flags("ls")
	owner := fs.String("owner", "", "list only the sessions of this owner")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := parseFlags(fs, args, 0); err != nil {
		return nil, err
	}
	return func(ctx context.Context, e *env) error {
		n := 0
		err := e.store.Sessions(ctx, *owner, func(info persist.Info) error {
			n++
			if *asJSON {
				return writeJSON(e.out, infoJSON(info))
			}
			_, err := fmt.Fprintln(e.out, infoLine(info))
			return err
		})
		if err == nil && n == 0 {
			e.noSessions(*owner)
		}
		return err
	}, nil
}

func parseShow(args []string) (run, error) {
	fs := flags("show")
	asJSON := fs.Bool("json", false, "print the session as one JSON object")
	if err := parseFlags(fs, args, 1); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, Usagef("show: which session? (show [-json] KEY)")
	}
	key := fs.Arg(0)
	if err := checkKey("show", key); err != nil {
		return nil, err
	}
	return func(ctx context.Context, e *env) error { return show(ctx, e, key, *asJSON) }, nil
}

// show prints the record of key and its quarantined records, as text or
// as one JSON object.
func show(ctx context.Context, e *env, key string, asJSON bool) error {
	rec, info, err := e.store.Inspect(ctx, key)
	var ce *persist.CorruptError
	var qs []persist.Quarantined
	if qi, ok := e.store.(persist.QuarantineInspector); ok {
		qerr := qi.Quarantined(ctx, key, func(q persist.Quarantined) error {
			qs = append(qs, q)
			return nil
		})
		if qerr != nil {
			return qerr
		}
		slices.SortFunc(qs, func(a, b persist.Quarantined) int { return a.Time.Compare(b.Time) })
	}
	out := showJSON{Key: key, Quarantined: []quarantinedJSON{}}
	switch {
	case errors.As(err, &ce):
		out.RecordError = ce.Err.Error()
	case errors.Is(err, persist.ErrNotFound):
		if len(qs) == 0 {
			return fmt.Errorf("show %s: %w", key, persist.ErrNotFound)
		}
	case err != nil:
		return err
	default:
		r := recordOf(info, rec)
		out.Record = &r
	}
	for _, q := range qs {
		out.Quarantined = append(out.Quarantined, quarantinedOf(q))
	}
	if asJSON {
		return writeJSON(e.out, out)
	}
	switch {
	case out.Record != nil:
		printRecord(e.out, e.now, info, rec)
	case out.RecordError != "":
		fmt.Fprintf(e.out, "key       %s\nrecord    does not decode: %v\n", key, ce.Err)
	default:
		fmt.Fprintf(e.out, "key       %s\nrecord    none\n", key)
	}
	for _, q := range qs {
		printQuarantined(e.out, e.now, q)
	}
	return nil
}

func parseRm(args []string) (run, error) {
	fs := flags("rm")
	if err := fs.Parse(args); err != nil {
		return nil, Usagef("rm: %v", err)
	}
	keys := fs.Args()
	if len(keys) == 0 {
		return nil, Usagef("rm: which sessions? (rm KEY...)")
	}
	for _, key := range keys {
		if err := checkKey("rm", key); err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context, e *env) error {
		var errs []error
		for _, key := range keys {
			found, err := destroy(ctx, e, key, nil)
			switch {
			case err != nil:
				errs = append(errs, err)
			case !found:
				errs = append(errs, fmt.Errorf("rm %s: %w", key, persist.ErrNotFound))
			default:
				fmt.Fprintf(e.out, "removed %s\n", key)
			}
		}
		return errors.Join(errs...)
	}, nil
}

// destroy locks the session of key, as an engine would (asking a live
// holder to hand it over), and deletes it if it exists and match, if not
// nil, accepts its record. It reports whether it deleted it.
func destroy(ctx context.Context, e *env, key string, match func(persist.Record) bool) (bool, error) {
	lctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	l, err := e.store.LockKey(lctx, key, nil)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return false, fmt.Errorf("session %s is held and was not handed over within -timeout %v: %w", key, e.timeout, err)
		}
		return false, fmt.Errorf("lock %s: %w", key, err)
	}
	return persist.DeleteIf(l, match)
}

func parseRevoke(args []string) (run, error) {
	fs := flags("revoke")
	owner := fs.String("owner", "", "the owner whose sessions are destroyed (required)")
	if err := parseFlags(fs, args, 0); err != nil {
		return nil, err
	}
	if *owner == "" {
		return nil, Usagef("revoke: -owner NAME is required (and not empty)")
	}
	return func(ctx context.Context, e *env) error {
		n, err := revoke(ctx, e, *owner)
		fmt.Fprintf(e.out, "destroyed %d\n", n)
		return err
	}, nil
}

// revoke destroys every session of owner: it lists them, then locks each
// (a live holder hands it over), checks the owner again under the lock and
// deletes it. Sessions that become owner's after the listing are not seen.
func revoke(ctx context.Context, e *env, owner string) (int, error) {
	var keys []string
	err := e.store.Sessions(ctx, owner, func(info persist.Info) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, key := range keys {
		ok, err := destroy(ctx, e, key, func(rec persist.Record) bool { return rec.Owner == owner })
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func parseSweep(args []string) (run, error) {
	fs := flags("sweep")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := parseFlags(fs, args, 0); err != nil {
		return nil, err
	}
	return func(ctx context.Context, e *env) error {
		rep, err := e.store.Sweep(ctx, e.now)
		if *asJSON {
			if werr := writeJSON(e.out, sweepJSON(rep)); err == nil {
				err = werr
			}
		} else {
			printSweep(e.out, rep)
		}
		return err
	}, nil
}

// stats is what the stats command counts.
type stats struct {
	Sessions    int          `json:"sessions"`
	Expired     int          `json:"expired"`
	Locked      int          `json:"locked"`
	Bytes       int64        `json:"bytes"`
	Owners      int          `json:"owners"`
	Unowned     int          `json:"unowned"`
	TopOwners   []ownerCount `json:"top_owners"`
	Quarantined *int         `json:"quarantined,omitempty"`
	Files       *fileStats   `json:"files,omitempty"`
}

type ownerCount struct {
	Owner    string `json:"owner"`
	Sessions int    `json:"sessions"`
}

type fileStats struct {
	OrphanLocks int `json:"orphan_locks"`
	TempFiles   int `json:"temp_files"`
	WantFiles   int `json:"want_files"`
	OtherFiles  int `json:"other_files"`
}

// topOwners is how many owners stats names, those with most sessions.
const topOwners = 5

// fileCounter is implemented by stores that keep files (filestore.Store).
type fileCounter interface {
	Files(ctx context.Context) (filestore.FileCounts, error)
}

func parseStats(args []string) (run, error) {
	fs := flags("stats")
	asJSON := fs.Bool("json", false, "print the counts as one JSON object")
	if err := parseFlags(fs, args, 0); err != nil {
		return nil, err
	}
	return func(ctx context.Context, e *env) error {
		s, err := count(ctx, e)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.out, s)
		}
		printStats(e.out, s)
		return nil
	}, nil
}

// count gathers the stats of the store.
func count(ctx context.Context, e *env) (stats, error) {
	var s stats
	owners := make(map[string]int)
	err := e.store.Sessions(ctx, "", func(info persist.Info) error {
		s.Sessions++
		s.Bytes += info.Bytes
		if (persist.Record{Expires: info.Expires}).Expired(e.now) {
			s.Expired++
		}
		if info.Locked {
			s.Locked++
		}
		if info.Owner == "" {
			s.Unowned++
		} else {
			owners[info.Owner]++
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	s.Owners = len(owners)
	for o, n := range owners {
		s.TopOwners = append(s.TopOwners, ownerCount{o, n})
	}
	slices.SortFunc(s.TopOwners, func(a, b ownerCount) int {
		return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), cmp.Compare(a.Owner, b.Owner))
	})
	s.TopOwners = s.TopOwners[:min(len(s.TopOwners), topOwners)]
	if s.TopOwners == nil {
		s.TopOwners = []ownerCount{}
	}
	if qi, ok := e.store.(persist.QuarantineInspector); ok {
		n := 0
		if err := qi.Quarantined(ctx, "", func(persist.Quarantined) error { n++; return nil }); err != nil {
			return s, err
		}
		s.Quarantined = &n
	}
	if fc, ok := e.store.(fileCounter); ok {
		c, err := fc.Files(ctx)
		if err != nil {
			return s, err
		}
		s.Files = &fileStats{OrphanLocks: c.OrphanLocks, TempFiles: c.Temps, WantFiles: c.Wants, OtherFiles: c.Other}
	}
	return s, nil
}
