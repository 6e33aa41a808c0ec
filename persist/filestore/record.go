package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/lockstep-go/lockstep/persist"
)

// Record file format, version 2 (all integers big-endian). A record file
// is a header and two slots of S bytes each. A commit writes the whole
// record, in place, into the slot that does not hold the newest valid
// record, with the next sequence number; a reader takes the valid slot with
// the higher sequence number. A write torn at any byte (a crash, a power
// loss, a reader that looks in the middle of it) spoils at most the slot
// being written, whose checksum then fails, and the reader gets the previous
// record from the other slot.
//
// The header is written only when the file is created (a temp file renamed
// over the record), never in place:
//
//	offset  size  field
//	0       8     magic "LOCKSTEP"
//	8       2     format version (2)
//	10      2     flags (0; anything else is rejected)
//	12      4     S, the size of a slot in bytes (a multiple of 64)
//	16      12    reserved (0)
//	28      4     CRC32C (Castagnoli) of bytes 0..27
//
// Slot 0 starts at offset 32, slot 1 at 32+S; the file is exactly 32+2S
// bytes long. A slot:
//
//	offset  size  field
//	0       4     CRC32C of the slot's bytes 4..36+o+n-1
//	4       8     sequence number (0 = never written)
//	12      8     created, unix nanoseconds (0 = zero time)
//	20      8     expires, unix nanoseconds (0 = never)
//	28      4     o, the length of the owner
//	32      4     n, the length of the data
//	36      o     owner
//	36+o    n     data
//
// The rest of the slot is unused and not covered by the checksum.
const (
	recordMagic   = "LOCKSTEP"
	recordVersion = 2
	fileHeaderLen = 32
	slotHeaderLen = 36
	slotAlign     = 64
	minSlotSize   = 256 // a small session's file is 544 bytes: one block
	maxSlotSize   = math.MaxUint32 &^ (slotAlign - 1)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decoding errors; all are reported wrapped in a *CorruptError.
var (
	errShort    = errors.New("filestore: record truncated")
	errMagic    = errors.New("filestore: not a session record (bad magic)")
	errVersion  = errors.New("filestore: unsupported record format version")
	errFlags    = errors.New("filestore: unknown record flags")
	errLength   = errors.New("filestore: record length does not match its header")
	errChecksum = errors.New("filestore: record checksum mismatch")
	errSlotSize = errors.New("filestore: bad record slot size")
	errNoSlot   = errors.New("filestore: no valid record slot")
	errEmpty    = errors.New("slot never written")
)

// layout is what a writer needs to know of a record file to write the next
// slot in place.
type layout struct {
	version  int    // format version of the file
	slotSize int    // S (version 2)
	cur      int    // index of the slot holding the newest valid record
	seq      uint64 // its sequence number
}

// slotOffset returns the offset of slot i in a version 2 file.
func (lo layout) slotOffset(i int) int64 {
	return int64(fileHeaderLen + i*lo.slotSize)
}

// slotNeed returns how many bytes of a slot rec occupies.
func slotNeed(rec persist.Record) uint64 {
	return slotHeaderLen + uint64(len(rec.Owner)) + uint64(len(rec.Data))
}

// slotSizeFor returns the slot size of a new file for a record that needs
// need bytes: half as much again, for the record to grow in place, rounded
// up to slotAlign, at least minSlotSize.
func slotSizeFor(need uint64) (int, error) {
	s := need + need/2
	s = (s + slotAlign - 1) &^ (slotAlign - 1)
	if s > maxSlotSize {
		if need > maxSlotSize {
			return 0, fmt.Errorf("filestore: record too large (%d bytes)", need)
		}
		s = maxSlotSize
	}
	return max(int(s), minSlotSize), nil
}

// checkTimes returns an error if rec's times have no code in the record
// format (see persist.CheckTime): such a record cannot be stored.
func checkTimes(rec persist.Record) error {
	if err := persist.CheckTime(rec.Created); err != nil {
		return fmt.Errorf("filestore: record's Created: %w", err)
	}
	if err := persist.CheckTime(rec.Expires); err != nil {
		return fmt.Errorf("filestore: record's Expires: %w", err)
	}
	return nil
}

// appendSlot appends the used part of a slot holding rec with sequence
// number seq to buf.
func appendSlot(buf []byte, rec persist.Record, seq uint64) []byte {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0) // checksum, filled in below
	buf = binary.BigEndian.AppendUint64(buf, seq)
	buf = binary.BigEndian.AppendUint64(buf, uint64(persist.UnixNano(rec.Created)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(persist.UnixNano(rec.Expires)))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec.Owner)))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec.Data)))
	buf = append(buf, rec.Owner...)
	buf = append(buf, rec.Data...)
	binary.BigEndian.PutUint32(buf[start:], crc32.Checksum(buf[start+4:], castagnoli))
	return buf
}

// encodeFile appends a whole version 2 file to buf: the header, rec in
// slot 0 with sequence number seq, and an empty slot 1. It returns the
// file's layout.
func encodeFile(buf []byte, rec persist.Record, seq uint64) ([]byte, layout, error) {
	s, err := slotSizeFor(slotNeed(rec))
	if err != nil {
		return buf, layout{}, err
	}
	start := len(buf)
	buf = append(buf, recordMagic...)
	buf = binary.BigEndian.AppendUint16(buf, recordVersion)
	buf = binary.BigEndian.AppendUint16(buf, 0)
	buf = binary.BigEndian.AppendUint32(buf, uint32(s))
	buf = append(buf, make([]byte, 12)...)
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf[start:], castagnoli))
	buf = appendSlot(buf, rec, seq)
	buf = append(buf, make([]byte, fileHeaderLen+2*s-(len(buf)-start))...)
	return buf, layout{version: recordVersion, slotSize: s, cur: 0, seq: seq}, nil
}

// decodeRecord parses a record file of any supported version. It never
// panics; the returned Owner is a copy, Data aliases b.
func decodeRecord(b []byte) (persist.Record, error) {
	rec, _, err := decodeFile(b)
	return rec, err
}

// decodeFile parses a record file of any supported version and returns the
// newest valid record and the file's layout.
func decodeFile(b []byte) (persist.Record, layout, error) {
	if len(b) < 10 {
		if len(b) >= len(recordMagic) && string(b[:len(recordMagic)]) != recordMagic {
			return persist.Record{}, layout{}, errMagic
		}
		return persist.Record{}, layout{}, errShort
	}
	if string(b[:len(recordMagic)]) != recordMagic {
		return persist.Record{}, layout{}, errMagic
	}
	switch v := binary.BigEndian.Uint16(b[8:]); v {
	case v1Version:
		rec, err := decodeV1(b)
		return rec, layout{version: v1Version}, err
	case recordVersion:
	default:
		return persist.Record{}, layout{}, fmt.Errorf("%w %d", errVersion, v)
	}
	lo, err := decodeFileHeader(b)
	if err != nil {
		return persist.Record{}, layout{}, err
	}
	var recs [2]persist.Record
	var seqs [2]uint64
	var errs [2]error
	for i := range 2 {
		off := lo.slotOffset(i)
		recs[i], seqs[i], errs[i] = decodeSlot(b[off : off+int64(lo.slotSize)])
	}
	switch {
	case errs[0] != nil && errs[1] != nil:
		return persist.Record{}, layout{}, fmt.Errorf("%w (slot 0: %w; slot 1: %w)", errNoSlot, errs[0], errs[1])
	case errs[1] != nil || errs[0] == nil && seqs[0] >= seqs[1]:
		lo.cur = 0
	default:
		lo.cur = 1
	}
	lo.seq = seqs[lo.cur]
	return recs[lo.cur], lo, nil
}

// decodeFileHeader checks the header of a version 2 file, whose magic and
// version the caller has checked, and the file's length.
func decodeFileHeader(b []byte) (layout, error) {
	if len(b) < fileHeaderLen {
		return layout{}, errShort
	}
	if crc32.Checksum(b[:28], castagnoli) != binary.BigEndian.Uint32(b[28:]) {
		return layout{}, fmt.Errorf("%w (file header)", errChecksum)
	}
	if binary.BigEndian.Uint16(b[10:]) != 0 {
		return layout{}, errFlags
	}
	s := binary.BigEndian.Uint32(b[12:])
	if s < slotHeaderLen || s%slotAlign != 0 {
		return layout{}, fmt.Errorf("%w %d", errSlotSize, s)
	}
	want := uint64(fileHeaderLen) + 2*uint64(s)
	if uint64(len(b)) != want {
		if uint64(len(b)) < want {
			return layout{}, fmt.Errorf("%w: %d of %d bytes", errShort, len(b), want)
		}
		return layout{}, fmt.Errorf("%w: %d bytes, header says %d", errLength, len(b), want)
	}
	return layout{version: recordVersion, slotSize: int(s)}, nil
}

// decodeSlot parses one slot (all S bytes of it) and returns its record and
// sequence number.
func decodeSlot(b []byte) (persist.Record, uint64, error) {
	seq := binary.BigEndian.Uint64(b[4:])
	o := uint64(binary.BigEndian.Uint32(b[28:]))
	n := uint64(binary.BigEndian.Uint32(b[32:]))
	if seq == 0 {
		return persist.Record{}, 0, errEmpty
	}
	end := slotHeaderLen + o + n
	if end > uint64(len(b)) {
		return persist.Record{}, 0, fmt.Errorf("%w: slot of %d bytes, header says %d", errLength, len(b), end)
	}
	if crc32.Checksum(b[4:end], castagnoli) != binary.BigEndian.Uint32(b) {
		return persist.Record{}, 0, errChecksum
	}
	return persist.Record{
		Created: persist.TimeOfUnixNano(int64(binary.BigEndian.Uint64(b[12:]))),
		Expires: persist.TimeOfUnixNano(int64(binary.BigEndian.Uint64(b[20:]))),
		Owner:   string(b[slotHeaderLen : slotHeaderLen+o]),
		Data:    b[slotHeaderLen+o : end : end],
	}, seq, nil
}
