package engine

import "math"

// Get returns the value stored under key as a T. It returns the zero T and
// false if key is missing or holds a value of another type, with one
// exception: between the predeclared integer types (int, int8, ..., int64,
// uint, uint8, ..., uint64, uintptr), Get converts a stored integer to T
// when its value fits in T, so that Get[int] reads an int64 that a codec or
// another program stored, and Get[uint8] reads the int 200 but not 300 or
// -1. Named types and floats are not converted. A stored nil is only an
// interface T.
//
//	visits, _ := engine.Get[int](s, "visits") // 0 on the first visit
//	s.Set("visits", visits+1)
func Get[T any](s *Session, key string) (T, bool) {
	v, ok := s.Get(key)
	if !ok {
		var zero T
		return zero, false
	}
	if v == nil { // a stored nil is a T only if T is an interface type
		var zero T
		return zero, any(zero) == nil
	}
	if t, isT := v.(T); isT {
		return t, true
	}
	return convertInt[T](v)
}

// convertInt returns v, a value of a predeclared integer type, as a T if
// T is a predeclared integer type and v's value fits in it.
func convertInt[T any](v any) (T, bool) {
	var t T
	var (
		i      int64  // v, if signed
		u      uint64 // v, if unsigned
		signed bool
	)
	switch x := v.(type) {
	case int:
		i, signed = int64(x), true
	case int8:
		i, signed = int64(x), true
	case int16:
		i, signed = int64(x), true
	case int32:
		i, signed = int64(x), true
	case int64:
		i, signed = x, true
	case uint:
		u = uint64(x)
	case uint8:
		u = uint64(x)
	case uint16:
		u = uint64(x)
	case uint32:
		u = uint64(x)
	case uint64:
		u = x
	case uintptr:
		u = uint64(x)
	default:
		return t, false
	}
	var ok bool
	switch p := any(&t).(type) {
	case *int:
		ok = setSigned(p, i, u, signed, math.MinInt, math.MaxInt)
	case *int8:
		ok = setSigned(p, i, u, signed, math.MinInt8, math.MaxInt8)
	case *int16:
		ok = setSigned(p, i, u, signed, math.MinInt16, math.MaxInt16)
	case *int32:
		ok = setSigned(p, i, u, signed, math.MinInt32, math.MaxInt32)
	case *int64:
		ok = setSigned(p, i, u, signed, math.MinInt64, math.MaxInt64)
	case *uint:
		ok = setUnsigned(p, i, u, signed, math.MaxUint)
	case *uint8:
		ok = setUnsigned(p, i, u, signed, math.MaxUint8)
	case *uint16:
		ok = setUnsigned(p, i, u, signed, math.MaxUint16)
	case *uint32:
		ok = setUnsigned(p, i, u, signed, math.MaxUint32)
	case *uint64:
		ok = setUnsigned(p, i, u, signed, math.MaxUint64)
	case *uintptr:
		ok = setUnsigned(p, i, u, signed, uint64(^uintptr(0)))
	}
	if !ok {
		var zero T
		return zero, false
	}
	return t, true
}

// setSigned stores the integer (i if signed, else u) in *p if it lies in
// [lo, hi].
func setSigned[N int | int8 | int16 | int32 | int64](p *N, i int64, u uint64, signed bool, lo, hi int64) bool {
	switch {
	case signed && i >= lo && i <= hi:
		*p = N(i)
	case !signed && u <= uint64(hi):
		*p = N(u)
	default:
		return false
	}
	return true
}

// setUnsigned stores the integer (i if signed, else u) in *p if it lies in
// [0, hi].
func setUnsigned[N uint | uint8 | uint16 | uint32 | uint64 | uintptr](p *N, i int64, u uint64, signed bool, hi uint64) bool {
	if signed {
		if i < 0 {
			return false
		}
		u = uint64(i)
	}
	if u > hi {
		return false
	}
	*p = N(u)
	return true
}

// Pop returns the value stored under key as a T and deletes it in the same
// turn: of concurrent turns that Pop one key, exactly one gets the value,
// so a flash message is shown exactly once. Like [Session.Delete], the
// deletion is undone if the turn is rolled back (its fn fails or panics):
// the value is then there for the next turn.
//
// Pop reads as [Get] does (integers convert between integer types when
// they fit). If key is missing or holds a value that Get cannot return as
// a T, Pop returns the zero T and false and leaves the session as it was:
// a value the caller cannot read is not thrown away.
//
//	if msg, ok := engine.Pop[string](s, "flash"); ok {
//		data.Flash = msg
//	}
func Pop[T any](s *Session, key string) (T, bool) {
	t, ok := Get[T](s, key)
	if ok {
		s.Delete(key)
	}
	return t, ok
}
