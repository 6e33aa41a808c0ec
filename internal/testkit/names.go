package testkit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
)

// Key returns the key the file store names a session's files after: the
// lowercase hex SHA-256 of its ID.
func Key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// RecordPath returns the path of the record of session id in the session
// directory dir.
func RecordPath(dir, id string) string {
	return filepath.Join(dir, "session-"+Key(id))
}

// LockPath returns the path of the lock file of session id in dir.
func LockPath(dir, id string) string {
	return RecordPath(dir, id) + ".lock"
}

// NewID returns a session ID in the engine's form: 32 random bytes,
// base64url without padding (43 characters).
func NewID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}
