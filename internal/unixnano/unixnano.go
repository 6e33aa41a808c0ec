// Package unixnano converts times to and from the Unix nanoseconds that
// lockstep's record formats store (the file store's, persist/record.go, and
// the Redis store's, persist/redisstore/record.go), where 0 stands for the
// zero time ("none", "never"). Both functions are pure and safe for
// concurrent use.
package unixnano

import "time"

// Of returns t in Unix nanoseconds, or 0 for the zero time.
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
