package persist

import (
	"fmt"
	"math"
	"time"
)

// CheckTime returns an error if a store that keeps times as Unix
// nanoseconds, with 0 for the zero time ("none", "never"), cannot give t
// back as it was saved: t is not the zero time and is before 1677-09-21
// 00:12:43.145224192 UTC, after 2262-04-11 23:47:16.854775807 UTC (the
// range of an int64 of nanoseconds), or exactly the Unix epoch (whose code
// would be the zero time's). Such stores call it on a Record's Created and
// Expires before they encode it, and fail the Save. The engine's own times
// stay in range: it stamps records with the current time, and its deadlines
// are at most engine.MaxDuration (100 years) ahead. The error has no
// prefix: the store that reports it adds its own.
func CheckTime(t time.Time) error {
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

// UnixNano returns the code of t in a store that keeps times as Unix
// nanoseconds: t.UnixNano(), or 0 for the zero time. For a t that CheckTime
// rejects the result is meaningless: check first. TimeOfUnixNano decodes it.
func UnixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// TimeOfUnixNano returns the time whose code UnixNano returned: the time of
// n Unix nanoseconds (in the local time zone), or the zero time for 0.
func TimeOfUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
