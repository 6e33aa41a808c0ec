package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/lockstep-go/lockstep/engine"
	"github.com/lockstep-go/lockstep/persist"
)

// maxValue is how many characters of one value show prints.
const maxValue = 200

// safe returns s as it can be printed on a terminal in a column: as is if
// it is printable and has no spaces, quoted otherwise. Owners and value
// names come from applications, and an operator's terminal must not
// interpret them.
func safe(s string) string {
	if s == "" || s == "-" {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}

// textTime formats a time for the text output: UTC, to the second.
func textTime(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(time.RFC3339)
}

// exactExpiry reports whether a record's stored expiry is when it expires
// unless used again. A session held by an engine is not: the engine keeps
// its deadline (last use plus idle timeout) in memory and rewrites the
// stored expiry only when the deadline passes it, writing it an eighth of
// the idle timeout ahead each time, so that turns that only read need not
// write. The stored expiry of a held session is thus the latest it
// expires, up to an eighth of its idle timeout after the engine's
// deadline. Once released, the stored expiry is the session's.
func exactExpiry(locked bool, expires time.Time) bool {
	return !locked || expires.IsZero()
}

// infoLine is one line of ls: key, owner ("-" for none), created, expires
// ("never"; "<=" before the time when it is the latest, see exactExpiry),
// bytes, and "locked" or "unlocked".
func infoLine(info persist.Info) string {
	owner := "-"
	if info.Owner != "" {
		owner = safe(info.Owner)
	}
	locked := "unlocked"
	if info.Locked {
		locked = "locked"
	}
	expires := textTime(info.Expires, "never")
	if !exactExpiry(info.Locked, info.Expires) {
		expires = "<=" + expires
	}
	return fmt.Sprintf("%s  %s  %s  %s  %d  %s", info.Key, owner,
		textTime(info.Created, "-"), expires, info.Bytes, locked)
}

// sessionJSON is one line of ls -json. A zero Created or Expires (never)
// is null; times are UTC, RFC 3339 with nanoseconds. ExpiresExact is
// false when Expires is only the latest the session expires (see
// exactExpiry).
type sessionJSON struct {
	Key          string     `json:"key"`
	Owner        string     `json:"owner"`
	Created      *time.Time `json:"created"`
	Expires      *time.Time `json:"expires"`
	ExpiresExact bool       `json:"expires_exact"`
	Bytes        int64      `json:"bytes"`
	Locked       bool       `json:"locked"`
}

func infoJSON(info persist.Info) sessionJSON {
	return sessionJSON{
		Key:          info.Key,
		Owner:        info.Owner,
		Created:      jsonTime(info.Created),
		Expires:      jsonTime(info.Expires),
		ExpiresExact: exactExpiry(info.Locked, info.Expires),
		Bytes:        info.Bytes,
		Locked:       info.Locked,
	}
}

// showJSON is the output of show -json. Record is null when the session
// has no record (only quarantined ones) or when its record does not
// decode (RecordError says why).
type showJSON struct {
	Key         string            `json:"key"`
	Record      *recordJSON       `json:"record"`
	RecordError string            `json:"record_error,omitempty"`
	Quarantined []quarantinedJSON `json:"quarantined"`
}

// recordJSON is a record in show -json: the fields of ls -json, and the
// values, or why they do not decode.
type recordJSON struct {
	Owner        string      `json:"owner"`
	Created      *time.Time  `json:"created"`
	Expires      *time.Time  `json:"expires"`
	ExpiresExact bool        `json:"expires_exact"`
	Bytes        int64       `json:"bytes"`
	Locked       bool        `json:"locked"`
	Values       []valueJSON `json:"values"`
	ValuesError  string      `json:"values_error,omitempty"`
}

// valueJSON is one session value: its name, Go type, and the value as text
// (formatValue's form, whole).
type valueJSON struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// quarantinedJSON is a record set aside: Reason says why, Record is null
// when it does not decode.
type quarantinedJSON struct {
	Name   string      `json:"name"`
	Time   *time.Time  `json:"time"`
	Bytes  int64       `json:"bytes"`
	Reason string      `json:"reason"`
	Record *recordJSON `json:"record"`
}

func recordOf(info persist.Info, rec persist.Record) recordJSON {
	r := recordJSON{
		Owner:        rec.Owner,
		Created:      jsonTime(rec.Created),
		Expires:      jsonTime(rec.Expires),
		ExpiresExact: exactExpiry(info.Locked, rec.Expires),
		Bytes:        info.Bytes,
		Locked:       info.Locked,
		Values:       []valueJSON{},
	}
	values, err := engine.DecodeValues(rec.Data)
	if err != nil {
		r.ValuesError = err.Error()
		return r
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		r.Values = append(r.Values, valueJSON{Name: k, Type: typeName(values[k]), Value: valueText(values[k])})
	}
	return r
}

func quarantinedOf(q persist.Quarantined) quarantinedJSON {
	j := quarantinedJSON{Name: q.Name, Time: jsonTime(q.Time), Bytes: q.Bytes}
	if q.Err != nil {
		j.Reason = "the record does not decode: " + q.Err.Error()
		return j
	}
	r := recordOf(persist.Info{Bytes: q.Bytes}, q.Record)
	j.Record = &r
	if r.ValuesError != "" {
		j.Reason = "its values do not decode: " + r.ValuesError
	} else {
		j.Reason = "none found now: the record and its values decode (a holder's codec refused them)"
	}
	return j
}

func jsonTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// sweepReportJSON is the output of sweep -json: expired and busy always,
// the litter that only stores with files report when it is not zero.
type sweepReportJSON struct {
	Expired     int `json:"expired"`
	Busy        int `json:"busy"`
	OrphanLocks int `json:"orphan_locks,omitempty"`
	TempFiles   int `json:"temp_files,omitempty"`
}

func sweepJSON(r persist.SweepReport) sweepReportJSON {
	return sweepReportJSON{Expired: r.Expired, OrphanLocks: r.OrphanLocks, TempFiles: r.TempFiles, Busy: r.Busy}
}

// printSweep prints what a sweep did, one count a line: the expired
// sessions it removed and the busy ones it skipped, then the orphaned lock
// files and abandoned temp files it removed if there were any (only a
// store with files has them).
func printSweep(w io.Writer, r persist.SweepReport) {
	fmt.Fprintf(w, "%-14s%d\n%-14s%d\n", "expired", r.Expired, "busy", r.Busy)
	if r.OrphanLocks > 0 {
		fmt.Fprintf(w, "%-14s%d\n", "orphan-locks", r.OrphanLocks)
	}
	if r.TempFiles > 0 {
		fmt.Fprintf(w, "%-14s%d\n", "temp-files", r.TempFiles)
	}
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// until describes t relative to now: "in 59m0s", "3m0s ago".
func until(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d > 0 {
		return "in " + d.String()
	}
	return (-d).String() + " ago"
}

// printRecord prints a record's metadata and its values, decoded as the
// engine decodes them.
func printRecord(w io.Writer, now time.Time, info persist.Info, rec persist.Record) {
	owner := "none"
	if rec.Owner != "" {
		owner = safe(rec.Owner)
	}
	expires := "never"
	if !rec.Expires.IsZero() {
		state := "expires " + until(rec.Expires, now)
		if rec.Expired(now) {
			state = "expired " + until(rec.Expires, now)
		}
		expires = textTime(rec.Expires, "") + " (" + state + ")"
		if !exactExpiry(info.Locked, rec.Expires) {
			expires = textTime(rec.Expires, "") + " at the latest (" + state + "; held: its engine expires it an idle timeout after its last use, up to an eighth of the idle timeout sooner)"
		}
	}
	locked := "no"
	if info.Locked {
		locked = "yes"
	}
	fmt.Fprintf(w, "key       %s\nowner     %s\ncreated   %s\nexpires   %s\nbytes     %d\nlocked    %s\n",
		info.Key, owner, textTime(rec.Created, "-"), expires, info.Bytes, locked)
	printValues(w, rec.Data)
}

// printValues decodes data as the engine's values and prints them, one
// per line, sorted by name: name, Go type, value.
func printValues(w io.Writer, data []byte) {
	values, err := engine.DecodeValues(data)
	if err != nil {
		fmt.Fprintf(w, "values    do not decode (%d bytes): %s\n", len(data), oneLine(err.Error()))
		return
	}
	fmt.Fprintf(w, "values    %d\n", len(values))
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range names {
		v := values[k]
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", safe(k), typeName(v), formatValue(v))
	}
	_ = tw.Flush()
}

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

// formatValue prints a value readably on one line, as valueText does, cut
// at maxValue characters.
func formatValue(v any) string {
	s := valueText(v)
	if len(s) > maxValue {
		s = fmt.Sprintf("%s... (%d characters)", s[:maxValue], len(s))
	}
	return s
}

// valueText returns a value as readable text on one line: strings quoted,
// times in RFC 3339, numbers as numbers, anything else as Go syntax.
func valueText(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = strconv.Quote(x)
	case time.Time:
		s = x.Format(time.RFC3339Nano)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, bool:
		s = fmt.Sprint(x)
	default:
		s = fmt.Sprintf("%#v", x)
	}
	return oneLine(s)
}

// oneLine replaces control characters, so that s prints on one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// printQuarantined prints a record that was set aside, and why.
func printQuarantined(w io.Writer, now time.Time, q persist.Quarantined) {
	fmt.Fprintf(w, "\nquarantined  %s\nset aside    %s (%s)\nbytes        %d\n",
		q.Name, textTime(q.Time, "-"), until(q.Time, now), q.Bytes)
	if q.Err != nil {
		fmt.Fprintf(w, "reason       the record does not decode: %s\n", oneLine(q.Err.Error()))
		return
	}
	if _, err := engine.DecodeValues(q.Record.Data); err != nil {
		fmt.Fprintf(w, "reason       its values do not decode: %s\n", oneLine(err.Error()))
	} else {
		fmt.Fprintf(w, "reason       none found now: the record and its values decode (a holder's codec refused them)\n")
	}
	owner := "none"
	if q.Record.Owner != "" {
		owner = safe(q.Record.Owner)
	}
	fmt.Fprintf(w, "owner        %s\ncreated      %s\nexpires      %s\n",
		owner, textTime(q.Record.Created, "-"), textTime(q.Record.Expires, "never"))
	printValues(w, q.Record.Data)
}

// printStats prints the counts, one per line.
func printStats(w io.Writer, s stats) {
	line := func(name string, v any) { fmt.Fprintf(w, "%-14s%v\n", name, v) }
	line("sessions", s.Sessions)
	line("expired", s.Expired)
	line("locked", s.Locked)
	line("bytes", s.Bytes)
	line("owners", s.Owners)
	line("unowned", s.Unowned)
	top := make([]string, len(s.TopOwners))
	for i, o := range s.TopOwners {
		top[i] = fmt.Sprintf("%s=%d", safe(o.Owner), o.Sessions)
	}
	if len(top) == 0 {
		top = []string{"-"}
	}
	line("top-owners", strings.Join(top, " "))
	if s.Quarantined != nil {
		line("quarantined", *s.Quarantined)
	}
	if f := s.Files; f != nil {
		line("orphan-locks", f.OrphanLocks)
		line("temp-files", f.TempFiles)
		line("want-files", f.WantFiles)
		line("other-files", f.OtherFiles)
	}
}
