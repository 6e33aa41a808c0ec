package redisstore

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// sessionKeys are the Redis keys of one session. The session ID never
// appears in a key: key is the lowercase hex SHA-256 of the ID, as in the
// file store's file names, and it is the keys' hash tag, so that all keys
// of a session live in one hash slot (one Redis Cluster node).
type sessionKeys struct {
	key  string // hex SHA-256 of the session ID
	lock string // <prefix>{<key>}:lock  the lease: a string holding the holder's token, with a TTL
	rec  string // <prefix>{<key>}:rec   the record: a hash (v, c, e, o, d), with a TTL at its expiry
	want string // <prefix>{<key>}:want  set by waiters: "someone asked for this session"
}

func (s *Store) keysOf(id string) sessionKeys {
	sum := sha256.Sum256([]byte(id))
	key := hex.EncodeToString(sum[:])
	base := s.prefix + "{" + key + "}:"
	return sessionKeys{key: key, lock: base + "lock", rec: base + "rec", want: base + "want"}
}

// quarantineKey names a record moved aside at now.
func (k sessionKeys) quarantineKey(now time.Time) string {
	return k.rec[:len(k.rec)-len("rec")] + "corrupt:" + strconv.FormatInt(now.UnixNano(), 10)
}
