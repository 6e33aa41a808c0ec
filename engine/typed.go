package engine

// Get returns the value stored under key as a T. It returns the zero T and
// false if key is missing or holds a value of another type: a value stored
// as an int is not an int64, and a stored nil is only an interface T.
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
	t, isT := v.(T)
	return t, isT
}

// Pop returns the value stored under key as a T and deletes it in the same
// turn: of concurrent turns that Pop one key, exactly one gets the value,
// so a flash message is shown exactly once. Like [Session.Delete], the
// deletion is undone if the turn is rolled back (its fn fails or panics):
// the value is then there for the next turn.
//
// If key is missing or holds a value of another type, Pop returns the zero
// T and false and leaves the session as it was: a value the caller cannot
// read is not thrown away.
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
