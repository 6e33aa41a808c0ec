package filestore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// Record file format, version 1: the format before records were written in
// place. It is still read; the next Save rewrites the file in version 2.
// All integers are big-endian:
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
	v1Version   = 1
	v1HeaderLen = 36
)

// v1Header is the fixed part of a version 1 record.
type v1Header struct {
	created, expires time.Time
	dataLen          uint32
	crc              uint32
}

// decodeV1Header parses the first v1HeaderLen bytes of b, whose magic and
// version the caller has checked, without verifying the checksum (which
// covers the data too).
func decodeV1Header(b []byte) (v1Header, error) {
	if len(b) < v1HeaderLen {
		return v1Header{}, errShort
	}
	if binary.BigEndian.Uint16(b[10:]) != 0 {
		return v1Header{}, errFlags
	}
	return v1Header{
		created: persist.TimeOfUnixNano(int64(binary.BigEndian.Uint64(b[12:]))),
		expires: persist.TimeOfUnixNano(int64(binary.BigEndian.Uint64(b[20:]))),
		dataLen: binary.BigEndian.Uint32(b[28:]),
		crc:     binary.BigEndian.Uint32(b[32:]),
	}, nil
}

// decodeV1 parses a version 1 record, whose magic and version the caller
// has checked. It never panics; the returned Data aliases b.
func decodeV1(b []byte) (persist.Record, error) {
	h, err := decodeV1Header(b)
	if err != nil {
		return persist.Record{}, err
	}
	if uint64(len(b)-v1HeaderLen) != uint64(h.dataLen) {
		if len(b)-v1HeaderLen < int(min(h.dataLen, math.MaxInt32)) {
			return persist.Record{}, fmt.Errorf("%w: %d of %d data bytes", errShort, len(b)-v1HeaderLen, h.dataLen)
		}
		return persist.Record{}, fmt.Errorf("%w: %d data bytes, header says %d", errLength, len(b)-v1HeaderLen, h.dataLen)
	}
	data := b[v1HeaderLen:]
	crc := crc32.Update(0, castagnoli, b[:32])
	crc = crc32.Update(crc, castagnoli, data)
	if crc != h.crc {
		return persist.Record{}, errChecksum
	}
	return persist.Record{Created: h.created, Expires: h.expires, Data: data}, nil
}
