package redisstore

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// sessionKeys are the Redis keys of one session. The session ID never
// appears in a key: key is the lowercase hex SHA-256 of the ID, as in the
// file store's file names, and it is the keys' hash tag, so that all keys
// of a session live in one hash slot (one Redis Cluster node).
type sessionKeys struct {
	key  string // hex SHA-256 of the session ID
	lock string // <prefix>{<key>}:lock  the lease: a string holding the holder's token, with a TTL
	rec  string // <prefix>{<key>}:rec   the record: one string (docs/redis.md), with a TTL at its expiry
	want string // <prefix>{<key>}:want  set by waiters: "someone asked for this session"
}

func (s *Store) keysOf(id string) sessionKeys {
	return s.keysFor(persist.Key(id))
}

// keysFor returns the keys of the session whose key (see persist.Key) is
// key.
func (s *Store) keysFor(key string) sessionKeys {
	base := s.prefix + "{" + key + "}:"
	return sessionKeys{key: key, lock: base + "lock", rec: base + "rec", want: base + "want"}
}

// quarantineKey names a record moved aside at now.
func (k sessionKeys) quarantineKey(now time.Time) string {
	return k.rec[:len(k.rec)-len("rec")] + "corrupt:" + strconv.FormatInt(now.UnixNano(), 10)
}

// isKey reports whether key is a session key: 64 lowercase hex characters.
func isKey(key string) bool {
	if len(key) != 2*sha256.Size {
		return false
	}
	for i := range len(key) {
		if c := key[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// keyOf returns the session key in a Redis key of the store
// ("<prefix>{<key>}:..."), or "".
func (s *Store) keyOf(redisKey string) string {
	rest, ok := strings.CutPrefix(redisKey, s.prefix+"{")
	if !ok {
		return ""
	}
	key, _, ok := strings.Cut(rest, "}")
	if !ok || !isKey(key) {
		return ""
	}
	return key
}

// quarantineTime returns when the quarantined record named q was set
// aside, from its name's suffix.
func quarantineTime(q string) (time.Time, bool) {
	i := strings.LastIndex(q, ":corrupt:")
	if i < 0 {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(q[i+len(":corrupt:"):], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}
