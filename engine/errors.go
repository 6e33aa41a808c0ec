package engine

import "errors"

// Errors callers branch on, with errors.Is.
var (
	// ErrNotFound: the session ID is malformed, unknown, expired or destroyed.
	ErrNotFound = errors.New("engine: session not found")
	// ErrLockTimeout: the turn was not granted within Config.LockTimeout.
	ErrLockTimeout = errors.New("engine: timed out waiting for the session's turn")
	// ErrClosed: the engine has been closed.
	ErrClosed = errors.New("engine: closed")
)
