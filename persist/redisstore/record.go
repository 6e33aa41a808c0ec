package redisstore

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// A record is a Redis hash with the fields
//
//	v  version: 1 for the first write, +1 for each next one
//	c  created, unix nanoseconds (0 = zero time)
//	e  expires, unix nanoseconds (0 = never)
//	o  owner
//	d  data
//
// and a TTL (PEXPIREAT) at expires.

// errField reports a record hash with a missing or malformed field.
var errField = errors.New("redisstore: bad record field")

func unixNanos(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

// expireAt returns the PEXPIREAT argument for t: unix milliseconds rounded
// up (a record never vanishes before its expiry), or "0" for none.
func expireAt(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	ns := t.UnixNano()
	ms := ns / 1e6
	if ns%1e6 > 0 {
		ms++
	}
	return strconv.FormatInt(max(ms, 1), 10)
}

// parseRecord decodes the reply of HGETALL: found is false for an empty
// hash (no record).
func parseRecord(reply any) (rec persist.Record, version int64, found bool, err error) {
	fields, ok := reply.([]any)
	if !ok {
		return rec, 0, false, fmt.Errorf("%w: reply of type %T", errField, reply)
	}
	if len(fields) == 0 {
		return rec, 0, false, nil
	}
	var seen [4]bool // v, c, e, d
	for i := 0; i+1 < len(fields); i += 2 {
		name, _ := fields[i].(string)
		val, ok := fields[i+1].(string)
		if !ok {
			return rec, 0, true, fmt.Errorf("%w: %s of type %T", errField, name, fields[i+1])
		}
		switch name {
		case "v":
			version, err = strconv.ParseInt(val, 10, 64)
			if err != nil || version < 1 {
				return rec, 0, true, fmt.Errorf("%w: version %q", errField, val)
			}
			seen[0] = true
		case "c":
			rec.Created, err = parseNanos(val)
			if err != nil {
				return rec, 0, true, fmt.Errorf("%w: created %q", errField, val)
			}
			seen[1] = true
		case "e":
			rec.Expires, err = parseNanos(val)
			if err != nil {
				return rec, 0, true, fmt.Errorf("%w: expires %q", errField, val)
			}
			seen[2] = true
		case "o":
			rec.Owner = val
		case "d":
			rec.Data = []byte(val)
			seen[3] = true
		}
	}
	for i, ok := range seen {
		if !ok {
			return rec, 0, true, fmt.Errorf("%w: %q missing", errField, "vced"[i:i+1])
		}
	}
	return rec, version, true, nil
}

func parseNanos(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, n), nil
}
