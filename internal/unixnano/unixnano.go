// Package unixnano converts times to and from the Unix nanoseconds that
// lockstep's record formats store (the file store's, persist/record.go, and
// the Redis store's, persist/redisstore/record.go), where 0 stands for the
// zero time ("none", "never"). All its functions are pure and safe for
// concurrent use.
//
// Not every time has a code: an int64 of nanoseconds covers the years 1678
// to 2262 only, and the exact Unix epoch (1970-01-01 00:00:00 UTC) would be
// 0, the zero time's code. The stores reject such times with Check before
// they encode a record, so that a record reads back as it was saved. The
// engine's own times stay in range: it stamps records with the current
// time, and its deadlines are at most engine.MaxDuration (100 years) ahead.
package unixnano

import (
	"fmt"
	"math"
	"time"
)

// Check returns an error if Of cannot encode t so that Time gives it back:
// t is not the zero time and is before 1677-09-21 00:12:43.145224192 UTC,
// after 2262-04-11 23:47:16.854775807 UTC, or exactly the Unix epoch. The
// error has no prefix: the store that reports it adds its own.
func Check(t time.Time) error {
	switch {
	case t.IsZero():
		return nil
	case t.Before(time.Unix(0, math.MinInt64)) || t.After(time.Unix(0, math.MaxInt64)):
		return fmt.Errorf("time %v cannot be stored: outside the years 1678 to 2262", t)
	case t.Equal(time.Unix(0, 0)):
		return fmt.Errorf("time %v cannot be stored: the Unix epoch's code is the zero time's", t)
	}
	return nil
}

// Of returns t in Unix nanoseconds, or 0 for the zero time. For a t that
// Check rejects the result is meaningless: check first.
func Of(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Time returns the time of n Unix nanoseconds, or the zero time for 0.
func Time(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
