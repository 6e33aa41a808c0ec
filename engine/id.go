package engine

import (
	"crypto/rand"
	"encoding/base64"
)

// idLen is the length of a session ID: 32 random bytes in base64url
// without padding.
const idLen = 43

// newID returns a fresh session ID with 256 bits from crypto/rand.
func newID() string {
	var b [32]byte
	rand.Read(b[:]) // never returns an error; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidID reports whether id has the form of a session ID: 43 characters of
// the base64url alphabet that decode canonically to 32 bytes. It says
// nothing of whether the session exists.
func ValidID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isBase64URL(id[i]) {
			return false
		}
	}
	// The last character carries 4 bits of data and 2 bits of padding,
	// which must be zero for the encoding to be canonical.
	return b64Value(id[idLen-1])&3 == 0
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func b64Value(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	}
	return 63
}

// redact shortens an ID for error messages and logs: IDs are bearer secrets.
func redact(id string) string {
	if len(id) > 6 {
		return id[:6] + "…"
	}
	return id
}
