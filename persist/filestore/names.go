package filestore

import (
	"crypto/sha256"
	"path/filepath"

	"github.com/lockstep-go/lockstep/persist"
)

// File names in a session directory. For a session ID id, key is the
// lowercase hex SHA-256 of id (64 characters), and the store uses:
//
//	session-<key>                  the record
//	session-<key>.lock             its lock file
//	session-<key>.tmp-<suffix>     a record being written (renamed over the record)
//	session-<key>.want-<suffix>    a hand-over request of a waiting locker
//	session-<key>.corrupt-<suffix> a quarantined record (never touched again)
//
// where suffix is one or more characters of [0-9a-z]. Every other name is
// ignored by the store.
const (
	namePrefix    = "session-"
	lockSuffix    = ".lock"
	tempInfix     = ".tmp-"
	wantInfix     = ".want-"
	corruptInfix  = ".corrupt-"
	keyLen        = 2 * sha256.Size
	recordNameLen = len(namePrefix) + keyLen
)

// fileKind says which of the store's patterns a file name matches.
type fileKind int

const (
	kindNone fileKind = iota
	kindRecord
	kindLock
	kindTemp
	kindWant
	kindCorrupt
)

// keyOf returns the key of a session ID (see [Key]). Keys, unlike IDs, may
// appear in file names, errors and logs.
func keyOf(id string) string { return persist.Key(id) }

// isKey reports whether key has the form of a key: 64 characters of
// [0-9a-f]. Only such keys become file names.
func isKey(key string) bool {
	if len(key) != keyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func recordName(key string) string { return namePrefix + key }
func lockName(key string) string   { return namePrefix + key + lockSuffix }

// parseName reports which pattern name matches and the key it carries.
func parseName(name string) (key string, kind fileKind) {
	if len(name) < recordNameLen || name[:len(namePrefix)] != namePrefix {
		return "", kindNone
	}
	key = name[len(namePrefix):recordNameLen]
	if !isKey(key) {
		return "", kindNone
	}
	rest := name[recordNameLen:]
	switch {
	case rest == "":
		return key, kindRecord
	case rest == lockSuffix:
		return key, kindLock
	case hasSuffixedInfix(rest, tempInfix):
		return key, kindTemp
	case hasSuffixedInfix(rest, wantInfix):
		return key, kindWant
	case hasSuffixedInfix(rest, corruptInfix):
		return key, kindCorrupt
	}
	return "", kindNone
}

// hasSuffixedInfix reports whether rest is infix followed by one or more
// characters of [0-9a-z].
func hasSuffixedInfix(rest, infix string) bool {
	if len(rest) <= len(infix) || rest[:len(infix)] != infix {
		return false
	}
	for i := len(infix); i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

func (d *Store) path(name string) string { return filepath.Join(d.dir, name) }
