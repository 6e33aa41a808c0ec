package engine

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned (wrapped, with the redacted ID) by [Engine.Do],
// [Engine.Begin], [Engine.Regenerate] and [Engine.Destroy] when the session
// ID is malformed, unknown, expired or destroyed.
var ErrNotFound = errors.New("engine: session not found")

// ErrLockTimeout is returned (wrapped, with the redacted ID) when a turn was
// not granted within [Config.LockTimeout], in this process and across
// processes together.
var ErrLockTimeout = errors.New("engine: timed out waiting for the session's turn")

// ErrClosed is returned by every method of an [Engine] once [Engine.Shutdown]
// or [Engine.Close] has begun, and at once to every call that was waiting for
// a turn then, in this process or for another process's lock.
var ErrClosed = errors.New("engine: closed")

// ErrTurnEnded is returned by [Turn.Do] and [Turn.Commit] after [Turn.End].
var ErrTurnEnded = errors.New("engine: the turn has ended")

// Error is an engine operation on one session that failed because of a
// cause from outside the engine: the store (a failed write, a lost lock),
// the codec (a value that does not encode) or the caller's context. Callers match the cause with
// errors.Is or errors.As; Error adds which operation failed on which session.
type Error struct {
	Op      string // what failed: "acquire", "activate", "save", "create", "regenerate", "destroy", "release"
	Session string // the session's ID, redacted: IDs are bearer secrets
	Err     error  // the cause
}

// Error returns "engine: session ID…: OP: CAUSE".
func (e *Error) Error() string {
	return fmt.Sprintf("engine: session %s: %s: %v", e.Session, e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// opError wraps err, from outside the engine, with op and the session id.
func opError(op, id string, err error) error {
	return &Error{Op: op, Session: redact(id), Err: err}
}

// notFound returns ErrNotFound naming the session.
func notFound(id string) error {
	return fmt.Errorf("%w: %s", ErrNotFound, redact(id))
}

// lockTimeout returns ErrLockTimeout naming the session.
func lockTimeout(id string) error {
	return fmt.Errorf("%w: %s", ErrLockTimeout, redact(id))
}
