package storetest

import (
	"errors"
	"fmt"
	"testing"
)

// The suite's assertions, on the standard library alone: each reports what
// it got and what it wanted, after a description made of format and args.
// Those whose names start with must stop the subtest (t.Fatalf); the
// others report the failure (t.Errorf) and return whether the check held.

// noError checks that err is nil.
func noError(t testing.TB, err error, format string, args ...any) bool {
	t.Helper()
	if err != nil {
		t.Errorf("%s: got %v, want no error", fmt.Sprintf(format, args...), err)
		return false
	}
	return true
}

// mustNoError is noError that stops the subtest.
func mustNoError(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: got %v, want no error", fmt.Sprintf(format, args...), err)
	}
}

// errorIs checks that errors.Is(err, target).
func errorIs(t testing.TB, err, target error, format string, args ...any) bool {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got %v, want an error matching %v", fmt.Sprintf(format, args...), err, target)
		return false
	}
	return true
}

// notErrorIs checks that !errors.Is(err, target).
func notErrorIs(t testing.TB, err, target error, format string, args ...any) bool {
	t.Helper()
	if errors.Is(err, target) {
		t.Errorf("%s: got %v, want an error that does not match %v", fmt.Sprintf(format, args...), err, target)
		return false
	}
	return true
}

// isError checks that err is not nil.
func isError(t testing.TB, err error, format string, args ...any) bool {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want one", fmt.Sprintf(format, args...))
		return false
	}
	return true
}

// equal checks that got == want.
func equal[T comparable](t testing.TB, got, want T, format string, args ...any) bool {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", fmt.Sprintf(format, args...), got, want)
		return false
	}
	return true
}

// mustEqual is equal that stops the subtest.
func mustEqual[T comparable](t testing.TB, got, want T, format string, args ...any) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", fmt.Sprintf(format, args...), got, want)
	}
}

// sameKeys checks that got and want hold the same keys, in any order.
func sameKeys[V any](t testing.TB, got map[string]V, want []string, format string, args ...any) bool {
	t.Helper()
	wantSet := make(map[string]bool, len(want))
	for _, k := range want {
		wantSet[k] = true
	}
	ok := len(got) == len(wantSet)
	for k := range got {
		ok = ok && wantSet[k]
	}
	if !ok {
		gotKeys := make([]string, 0, len(got))
		for k := range got {
			gotKeys = append(gotKeys, k)
		}
		t.Errorf("%s: got %q, want %q (in any order)", fmt.Sprintf(format, args...), gotKeys, want)
	}
	return ok
}

// expect reports a failure, described by format and args, unless ok.
func expect(t testing.TB, ok bool, format string, args ...any) bool {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
	return ok
}
