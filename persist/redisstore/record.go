package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// A record is one Redis string, a fixed header followed by the owner and
// the data, with a TTL (PXAT) at its expiry:
//
//	offset  size  field
//	0       1     format, 1
//	1       8     version, uint64 big-endian: 1 for the first write, +1 for each next one
//	9       8     expire-at, Unix milliseconds, uint64 big-endian: the key's PXAT (0 = none)
//	17      8     created, Unix nanoseconds, int64 big-endian (0 = zero time)
//	25      8     expires, Unix nanoseconds, int64 big-endian (0 = never)
//	33      4     owner length n, uint32 big-endian
//	37      n     owner
//	37+n    rest  data
//
// The save script compares bytes 0-8 (format and version) with the ones
// the holder expects, and restores a record it must not replace with the
// expire-at of bytes 9-16, so that it never decodes anything wider than
// Lua's doubles hold exactly.
const (
	recordFormat = 1
	fenceLen     = 9  // format and version: what the fence compares
	headerLen    = 37 // everything before the owner
	maxOwner     = 1<<32 - 1
)

// errRecord reports a record that does not decode.
var errRecord = errors.New("redisstore: bad record")

// encodeRecord appends the record's bytes, at version, to buf. It rejects
// a record whose times have no code (see persist.CheckTime), before expireAt
// could turn one into a bad PXAT.
func encodeRecord(buf []byte, rec persist.Record, version uint64) ([]byte, error) {
	if uint64(len(rec.Owner)) > maxOwner {
		return buf, fmt.Errorf("redisstore: owner of %d bytes is too long", len(rec.Owner))
	}
	if err := persist.CheckTime(rec.Created); err != nil {
		return buf, fmt.Errorf("redisstore: record's Created: %w", err)
	}
	if err := persist.CheckTime(rec.Expires); err != nil {
		return buf, fmt.Errorf("redisstore: record's Expires: %w", err)
	}
	buf = append(buf, recordFormat)
	buf = binary.BigEndian.AppendUint64(buf, version)
	buf = binary.BigEndian.AppendUint64(buf, uint64(expireAt(rec.Expires)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(persist.UnixNano(rec.Created)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(persist.UnixNano(rec.Expires)))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec.Owner)))
	buf = append(buf, rec.Owner...)
	return append(buf, rec.Data...), nil
}

// fence returns the bytes the save script compares for version: a record
// that no write can have produced for version 0 (no record).
func fence(version uint64) []byte {
	var b [fenceLen]byte
	b[0] = recordFormat
	binary.BigEndian.PutUint64(b[1:], version)
	return b[:]
}

// header is what a record says about itself, without its data.
type header struct {
	version uint64
	created time.Time
	expires time.Time
	owner   string
	dataOff int // where the data starts
}

// parseHeader decodes the header and owner at the start of b, which may
// hold the whole record or only its beginning (then ok is false if the
// owner does not fit in b).
func parseHeader(b []byte) (h header, ok bool, err error) {
	if len(b) < headerLen {
		return h, false, fmt.Errorf("%w: %d bytes, shorter than its header", errRecord, len(b))
	}
	if b[0] != recordFormat {
		return h, false, fmt.Errorf("%w: format %d", errRecord, b[0])
	}
	h.version = binary.BigEndian.Uint64(b[1:])
	if h.version == 0 {
		return h, false, fmt.Errorf("%w: version 0", errRecord)
	}
	h.created = persist.TimeOfUnixNano(int64(binary.BigEndian.Uint64(b[17:])))
	h.expires = persist.TimeOfUnixNano(int64(binary.BigEndian.Uint64(b[25:])))
	n := binary.BigEndian.Uint32(b[33:])
	if uint64(len(b)-headerLen) < uint64(n) {
		return h, false, nil
	}
	h.dataOff = headerLen + int(n)
	h.owner = string(b[headerLen:h.dataOff])
	return h, true, nil
}

// parseRecord decodes a whole record. The returned Data is a copy.
func parseRecord(b []byte) (persist.Record, uint64, error) {
	h, ok, err := parseHeader(b)
	if err != nil {
		return persist.Record{}, 0, err
	}
	if !ok {
		return persist.Record{}, 0, fmt.Errorf("%w: owner longer than the record", errRecord)
	}
	rec := persist.Record{Created: h.created, Expires: h.expires, Owner: h.owner, Data: append([]byte{}, b[h.dataOff:]...)}
	return rec, h.version, nil
}

// expireAt returns the record's PXAT for t: Unix milliseconds rounded up
// (a record never vanishes before its expiry), or 0 for none.
func expireAt(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	ns := t.UnixNano()
	ms := ns / 1e6
	if ns%1e6 > 0 {
		ms++
	}
	return max(ms, 1)
}
