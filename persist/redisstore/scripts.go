package redisstore

import "github.com/redis/go-redis/v9"

// The server-side scripts. Each runs atomically on the server, so a check
// and the write it guards cannot be separated by another client's command.
// Every script touches only the keys of one session, which share a hash
// slot. Replies use small integers: -1 means the caller's lease is gone
// (the lock key holds another token, or none), -2 that the record's version
// is not the one the holder last saw.
//
// Keys and arguments are documented above each script; "lock", "rec" and
// "want" are the session's keys (see keys.go), "channel" and "msg" the
// hand-over channel and this session's message body.

// lockScript tries to take the lease. On success it clears the session's
// hand-over request flag and returns {1, HGETALL rec}, so that locking and
// loading cost one round trip. Otherwise, with announce = "1", it sets the
// request flag and publishes the request; it returns {0}.
//
//	KEYS: lock, rec, want
//	ARGV: token, lease ms, announce, channel, "w"+key, want ms
var lockScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[3])
  return {1, redis.call('HGETALL', KEYS[2])}
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[6])
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
return {0}
`)

// loadScript reads the record if the caller still holds the lease:
// {1, HGETALL rec}, or -1.
//
//	KEYS: lock, rec
//	ARGV: token
var loadScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return {1, redis.call('HGETALL', KEYS[2])}
`)

// saveScript writes the record if the caller holds the lease and the
// record's version is the one it last saw ("-1": the caller has not seen
// it; a record that is gone, because its TTL ran out while held, may be
// written again), sets its TTL, and returns the new version.
//
//	KEYS: lock, rec
//	ARGV: token, version, created ns, expires ns, owner, data, expire-at ms (0: none)
var saveScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local v = redis.call('HGET', KEYS[2], 'v')
if v and ARGV[2] ~= '-1' and v ~= ARGV[2] then return -2 end
local nv = math.max(tonumber(v or '0'), tonumber(ARGV[2])) + 1
redis.call('HSET', KEYS[2], 'v', nv, 'c', ARGV[3], 'e', ARGV[4], 'o', ARGV[5], 'd', ARGV[6])
if ARGV[7] == '0' then
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIREAT', KEYS[2], ARGV[7])
end
return nv
`)

// releaseBody ends the lease (the caller has checked the token) and, if a
// waiter asked for the session, publishes the wake-up.
const releaseBody = `
redis.call('DEL', KEYS[1])
if redis.call('DEL', KEYS[3]) == 1 then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
`

// releaseScript ends the lease: 1, or -1 if it was not the caller's.
//
//	KEYS: lock, rec, want
//	ARGV: token, (unused), channel, "f"+key
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
` + releaseBody + `
return 1
`)

// deleteScript removes the record (if its version is the one the caller
// last saw, or the caller has not seen it: "-1") and ends the lease: 1, -1, or -2 (the lease is ended all the
// same, the record is left alone).
//
//	KEYS: lock, rec, want
//	ARGV: token, version, channel, "f"+key
var deleteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local v = redis.call('HGET', KEYS[2], 'v')
local r = 1
if v and ARGV[2] ~= '-1' and v ~= ARGV[2] then r = -2 else redis.call('DEL', KEYS[2]) end
` + releaseBody + `
return r
`)

// quarantineScript renames the record to the quarantine key (1 if there
// was one, 0 if not) and, with release = "1", ends the lease.
//
//	KEYS: lock, rec, want, quarantine
//	ARGV: token, release, channel, "f"+key
var quarantineScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local moved = 0
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[4])
  moved = 1
end
if ARGV[2] == '1' then
` + releaseBody + `
end
return moved
`)

// renewScript extends the lease: 1 if a waiter asked for the session since
// it was taken, 0 if not, -1 if the lease is gone.
//
//	KEYS: lock, want
//	ARGV: token, lease ms
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('EXISTS', KEYS[2])
`)

// sweepScript deletes the record if nobody holds the session and it has
// expired at now: 1 if deleted, 0 if not (no record, not expired), -1 if
// the session is held. Times are compared as decimal strings of Unix
// nanoseconds (Lua's numbers are doubles, too coarse for them).
//
//	KEYS: lock, rec
//	ARGV: now ns
var sweepScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local e = redis.call('HGET', KEYS[2], 'e')
if not e or e == '0' then return 0 end
local now = ARGV[1]
if #e < #now or (#e == #now and e <= now) then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
`)
