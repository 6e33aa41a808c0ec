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
// hand-over request flag and returns {1, record}, so that locking and
// loading cost one round trip (record: the string, false for none, or -3
// if the key holds another type). Otherwise, with announce = "1", it sets
// the request flag and publishes the request; it returns {0}.
//
//	KEYS: lock, rec, want
//	ARGV: token, lease ms, announce, channel, "w"+key+":"+store, want ms
var lockScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[3])
  local r = redis.pcall('GET', KEYS[2])
  if type(r) == 'table' then r = -3 end
  return {1, r}
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[6])
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
return {0}
`)

// loadScript reads the record if the caller still holds the lease:
// {1, record} as lockScript returns it, or -1.
//
//	KEYS: lock, rec
//	ARGV: token
var loadScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local r = redis.pcall('GET', KEYS[2])
if type(r) == 'table' then r = -3 end
return {1, r}
`)

// fenceScript returns the first fenceLen bytes of the record ("" for
// none) if the caller still holds the lease, or -1: how a holder that does
// not know the record's version learns it before writing.
//
//	KEYS: lock, rec
//	ARGV: token
var fenceScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('GETRANGE', KEYS[2], 0, 8)
`)

// saveScript writes the record, with its TTL, if the caller holds the
// lease and the record it replaces is the one the caller last saw (its
// first fenceLen bytes, format and version, are fence; a record that is
// gone, because its TTL ran out while held, may be written again). It
// writes with SET ... GET, one command where reading the version first
// would take two: the replaced record comes back, and if it was not the
// expected one it is put back as it was, with its TTL (its expire-at,
// bytes 9-16, read as a double: exact below 2^53 ms). It returns 1, -1
// (lease gone) or -2 (record changed behind the holder's back).
//
//	KEYS: lock, rec
//	ARGV: token, fence, record, expire-at ms (0: none)
var saveScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local old
if ARGV[4] == '0' then
  old = redis.call('SET', KEYS[2], ARGV[3], 'GET')
else
  old = redis.call('SET', KEYS[2], ARGV[3], 'PXAT', ARGV[4], 'GET')
end
if old and string.sub(old, 1, 9) ~= ARGV[2] then
  local at = 0
  for i = 10, 17 do at = at * 256 + (string.byte(old, i) or 0) end
  if at > 0 and at < 2^47 then
    redis.call('SET', KEYS[2], old, 'PXAT', string.format('%.0f', at))
  else
    redis.call('SET', KEYS[2], old)
  end
  return -2
end
return 1
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

// deleteScript removes the record (if it is the one the caller last saw:
// its first fenceLen bytes are fence, or fence is "" for a caller that has
// not seen it) and ends the lease: 1, -1, or -2 (the lease is ended all
// the same, the record is left alone).
//
//	KEYS: lock, rec, want
//	ARGV: token, fence, channel, "f"+key
var deleteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local r = 1
local f = ARGV[2]
if f ~= '' and redis.call('EXISTS', KEYS[2]) == 1 and redis.pcall('GETRANGE', KEYS[2], 0, 8) ~= f then
  r = -2
else
  redis.call('DEL', KEYS[2])
end
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

// sweepScript deletes the record if nobody holds the session and it is
// still the one the sweep read (its first fenceLen bytes are fence, which
// the sweep found expired): the record's length if deleted, 0 if not
// (gone, or written since), -1 if the session is held.
//
//	KEYS: lock, rec
//	ARGV: fence
var sweepScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if redis.pcall('GETRANGE', KEYS[2], 0, 8) ~= ARGV[1] then return 0 end
local n = redis.call('STRLEN', KEYS[2])
redis.call('DEL', KEYS[2])
return n
`)
