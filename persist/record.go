package persist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// Record file format, version 1 (all integers big-endian):
//
//	offset  size  field
//	0       8     magic "LOCKSTEP"
//	8       2     format version (1)
//	10      2     flags (0; anything else is rejected)
//	12      8     created, unix nanoseconds (0 = zero time)
//	20      8     expires, unix nanoseconds (0 = never)
//	28      4     length of data in bytes
//	32      4     CRC32C (Castagnoli) of bytes 0..31 followed by data
//	36      n     data
//
// The file is exactly 36+n bytes long.
const (
	recordMagic   = "LOCKSTEP"
	recordVersion = 1
	headerLen     = 36
	maxDataLen    = math.MaxUint32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decoding errors; all are reported wrapped in a *CorruptError.
var (
	errShort    = errors.New("persist: record truncated")
	errMagic    = errors.New("persist: not a session record (bad magic)")
	errVersion  = errors.New("persist: unsupported record format version")
	errFlags    = errors.New("persist: unknown record flags")
	errLength   = errors.New("persist: record length does not match its header")
	errChecksum = errors.New("persist: record checksum mismatch")
)

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// encodeRecord appends the file form of rec to buf and returns it.
func encodeRecord(buf []byte, rec Record) ([]byte, error) {
	if uint64(len(rec.Data)) > maxDataLen {
		return buf, fmt.Errorf("persist: record data too large (%d bytes)", len(rec.Data))
	}
	start := len(buf)
	buf = append(buf, recordMagic...)
	buf = binary.BigEndian.AppendUint16(buf, recordVersion)
	buf = binary.BigEndian.AppendUint16(buf, 0)
	buf = binary.BigEndian.AppendUint64(buf, uint64(unixNanos(rec.Created)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(unixNanos(rec.Expires)))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec.Data)))
	crc := crc32.Update(0, castagnoli, buf[start:])
	crc = crc32.Update(crc, castagnoli, rec.Data)
	buf = binary.BigEndian.AppendUint32(buf, crc)
	return append(buf, rec.Data...), nil
}

// recordHeader is the fixed part of a record.
type recordHeader struct {
	created, expires time.Time
	dataLen          uint32
	crc              uint32
}

// decodeHeader parses the first headerLen bytes of b without verifying the
// checksum (which covers the data too).
func decodeHeader(b []byte) (recordHeader, error) {
	if len(b) < headerLen {
		if len(b) >= len(recordMagic) && string(b[:len(recordMagic)]) != recordMagic {
			return recordHeader{}, errMagic
		}
		return recordHeader{}, errShort
	}
	if string(b[:len(recordMagic)]) != recordMagic {
		return recordHeader{}, errMagic
	}
	if v := binary.BigEndian.Uint16(b[8:]); v != recordVersion {
		return recordHeader{}, fmt.Errorf("%w %d", errVersion, v)
	}
	if binary.BigEndian.Uint16(b[10:]) != 0 {
		return recordHeader{}, errFlags
	}
	return recordHeader{
		created: fromUnixNanos(int64(binary.BigEndian.Uint64(b[12:]))),
		expires: fromUnixNanos(int64(binary.BigEndian.Uint64(b[20:]))),
		dataLen: binary.BigEndian.Uint32(b[28:]),
		crc:     binary.BigEndian.Uint32(b[32:]),
	}, nil
}

// decodeRecord parses the file form of a record. It never panics; the
// returned Data aliases b.
func decodeRecord(b []byte) (Record, error) {
	h, err := decodeHeader(b)
	if err != nil {
		return Record{}, err
	}
	if uint64(len(b)-headerLen) != uint64(h.dataLen) {
		if len(b)-headerLen < int(min(h.dataLen, math.MaxInt32)) {
			return Record{}, fmt.Errorf("%w: %d of %d data bytes", errShort, len(b)-headerLen, h.dataLen)
		}
		return Record{}, fmt.Errorf("%w: %d data bytes, header says %d", errLength, len(b)-headerLen, h.dataLen)
	}
	data := b[headerLen:]
	crc := crc32.Update(0, castagnoli, b[:32])
	crc = crc32.Update(crc, castagnoli, data)
	if crc != h.crc {
		return Record{}, errChecksum
	}
	return Record{Created: h.created, Expires: h.expires, Data: data}, nil
}
