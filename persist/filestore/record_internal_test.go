package filestore

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/persist"
)

// encodeV1 returns rec in the version 1 format, as lockstep wrote records
// before they were written in place (Owner is not stored).
func encodeV1(rec persist.Record) []byte {
	buf := []byte(recordMagic)
	buf = binary.BigEndian.AppendUint16(buf, v1Version)
	buf = binary.BigEndian.AppendUint16(buf, 0)
	buf = binary.BigEndian.AppendUint64(buf, uint64(persist.UnixNano(rec.Created)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(persist.UnixNano(rec.Expires)))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec.Data)))
	crc := crc32.Update(0, castagnoli, buf)
	crc = crc32.Update(crc, castagnoli, rec.Data)
	buf = binary.BigEndian.AppendUint32(buf, crc)
	return append(buf, rec.Data...)
}

// mustEncode returns the version 2 file of rec in slot 0 with sequence 1.
func mustEncode(t testing.TB, rec persist.Record) []byte {
	t.Helper()
	b, _, err := encodeFile(nil, rec, 1)
	require.NoError(t, err)
	return b
}

// writeSlotAt returns file b (a copy) with rec written into the slot after
// the current one, as Save does in place, and the slot's offset and bytes.
func writeSlotAt(t testing.TB, b []byte, rec persist.Record) (next []byte, off int64, slot []byte) {
	t.Helper()
	_, lo, err := decodeFile(b)
	require.NoError(t, err)
	require.LessOrEqual(t, slotNeed(rec), uint64(lo.slotSize), "record outgrows its slot")
	off = lo.slotOffset(1 - lo.cur)
	slot = appendSlot(nil, rec, lo.seq+1)
	next = bytes.Clone(b)
	copy(next[off:], slot)
	return next, off, slot
}

func sameRecord(a, b persist.Record) bool {
	return a.Created.Equal(b.Created) && a.Expires.Equal(b.Expires) &&
		a.Created.IsZero() == b.Created.IsZero() && a.Expires.IsZero() == b.Expires.IsZero() &&
		a.Owner == b.Owner && bytes.Equal(a.Data, b.Data)
}

func TestRecordRoundtrip(t *testing.T) {
	tests := []persist.Record{
		{},
		{Created: time.Unix(0, 1), Expires: time.Unix(1<<33, 999999999), Data: []byte{0}},
		{Created: time.Now(), Expires: time.Now().Add(time.Hour), Owner: "user-42", Data: bytes.Repeat([]byte("ab"), 5000)},
		{Created: time.Unix(-1e9, 0), Owner: "ü", Data: []byte("before 1970")},
	}
	for _, rec := range tests {
		b := mustEncode(t, rec)
		s, _ := slotSizeFor(slotNeed(rec))
		assert.Equal(t, fileHeaderLen+2*s, len(b), "file length")
		got, lo, err := decodeFile(b)
		require.NoError(t, err)
		assert.True(t, sameRecord(got, rec), "roundtrip: got %+v, want %+v", got, rec)
		assert.Equal(t, layout{version: recordVersion, slotSize: s, cur: 0, seq: 1}, lo)

		// The next write goes to slot 1, and the one after it to slot 0.
		rec2 := rec
		rec2.Data = append([]byte("x"), rec.Data[:len(rec.Data)/2]...)
		b2, _, _ := writeSlotAt(t, b, rec2)
		got, lo, err = decodeFile(b2)
		require.NoError(t, err)
		assert.True(t, sameRecord(got, rec2), "after one write: got %+v, want %+v", got, rec2)
		assert.Equal(t, 1, lo.cur)
		b3, _, _ := writeSlotAt(t, b2, rec)
		got, lo, err = decodeFile(b3)
		require.NoError(t, err)
		assert.True(t, sameRecord(got, rec), "after two writes: got %+v, want %+v", got, rec)
		assert.Equal(t, layout{version: recordVersion, slotSize: s, cur: 0, seq: 3}, lo)
	}
}

func TestSlotSize(t *testing.T) {
	tests := []struct {
		need uint64
		want int
	}{
		{slotHeaderLen, minSlotSize},
		{170, 256},
		{172, 320},
		{1000, 1536},
	}
	for _, tt := range tests {
		got, err := slotSizeFor(tt.need)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "slotSizeFor(%d)", tt.need)
	}
	_, err := slotSizeFor(maxSlotSize + 1)
	assert.Error(t, err)
}

func TestDecodeRecordRejects(t *testing.T) {
	valid := mustEncode(t, persist.Record{Created: time.Unix(1, 0), Data: []byte("data")})
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	// rehead recomputes the header checksum after a change to the header.
	rehead := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
		return b
	}
	slot0 := fileHeaderLen
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"nil", nil, errShort},
		{"magic only", valid[:8], errShort},
		{"header only", valid[:fileHeaderLen], errShort},
		{"truncated", valid[:len(valid)-1], errShort},
		{"trailing", append(bytes.Clone(valid), 'x'), errLength},
		{"bad magic", mut(func(b []byte) []byte { b[0] = 'l'; return b }), errMagic},
		{"short bad magic", []byte("(dp0\nS'x'"), errMagic},
		{"version 3", mut(func(b []byte) []byte { b[9] = 3; return b }), errVersion},
		{"version 0", mut(func(b []byte) []byte { b[9] = 0; return b }), errVersion},
		{"flipped header", mut(func(b []byte) []byte { b[13] ^= 1; return b }), errChecksum},
		{"flags", mut(func(b []byte) []byte { b[11] = 1; return rehead(b) }), errFlags},
		{"slot size unaligned", mut(func(b []byte) []byte { b[15] |= 1; return rehead(b) }), errSlotSize},
		{"slot size zero", mut(func(b []byte) []byte { clear(b[12:16]); return rehead(b) }), errSlotSize},
		{"flipped seq", mut(func(b []byte) []byte { b[slot0+11] ^= 2; return b }), errChecksum},
		{"flipped created", mut(func(b []byte) []byte { b[slot0+19] ^= 1; return b }), errChecksum},
		{"flipped crc", mut(func(b []byte) []byte { b[slot0+1] ^= 0x80; return b }), errChecksum},
		{"flipped data", mut(func(b []byte) []byte { b[slot0+slotHeaderLen] ^= 2; return b }), errChecksum},
		{"huge data length", mut(func(b []byte) []byte { b[slot0+32] = 0xff; return b }), errLength},
		{"huge owner length", mut(func(b []byte) []byte { b[slot0+28] = 0xff; return b }), errLength},
		{"no slot written", mut(func(b []byte) []byte { clear(b[slot0:]); return b }), errNoSlot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeRecord(tt.b)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

// TestDecodeV1 checks that records of the previous format are still read,
// and rejected as before when damaged.
func TestDecodeV1(t *testing.T) {
	rec := persist.Record{Created: time.Unix(1700000000, 5), Expires: time.Unix(1700003600, 0), Data: []byte("data")}
	valid := encodeV1(rec)
	got, lo, err := decodeFile(valid)
	require.NoError(t, err)
	assert.True(t, sameRecord(got, rec), "got %+v, want %+v", got, rec)
	assert.Equal(t, v1Version, lo.version)

	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"header only", valid[:v1HeaderLen], errShort},
		{"short header", valid[:20], errShort},
		{"truncated", valid[:len(valid)-1], errShort},
		{"trailing", append(bytes.Clone(valid), 'x'), errLength},
		{"flags", mut(func(b []byte) []byte { b[11] = 1; return b }), errFlags},
		{"flipped created", mut(func(b []byte) []byte { b[19] ^= 1; return b }), errChecksum},
		{"flipped crc", mut(func(b []byte) []byte { b[33] ^= 0x80; return b }), errChecksum},
		{"flipped data", mut(func(b []byte) []byte { b[v1HeaderLen] ^= 2; return b }), errChecksum},
		{"huge length", mut(func(b []byte) []byte { b[28] = 0xff; return b }), errShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeRecord(tt.b)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

// FuzzDecodeRecord checks that the decoder never panics, that what it
// accepts is a record it can write again, and that a version 2 file it
// accepts survives a write torn at any byte of its next slot.
func FuzzDecodeRecord(f *testing.F) {
	rec := persist.Record{Created: time.Unix(1700000000, 5), Expires: time.Unix(1700003600, 0), Owner: "u1", Data: []byte("\x0f\xff\x81\x04\x01\x02\xff\x82")}
	valid, _, _ := encodeFile(nil, rec, 1)
	f.Add(valid)
	f.Add(valid[:20])
	f.Add(encodeV1(rec))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, lo, err := decodeFile(b)
		if err != nil {
			return
		}
		again, _, err := encodeFile(nil, got, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got2, err := decodeRecord(again); err != nil || !sameRecord(got2, got) {
			t.Fatalf("re-encoded record decodes to %+v, %v; want %+v", got2, err, got)
		}
		if lo.version != recordVersion {
			return
		}
		// A write of the next slot, torn at byte k, never spoils the
		// current record.
		next := persist.Record{Created: got.Created, Owner: got.Owner, Data: []byte("new")}
		if slotNeed(next) > uint64(lo.slotSize) {
			return
		}
		slot := appendSlot(nil, next, lo.seq+1)
		off := lo.slotOffset(1 - lo.cur)
		k := int(lo.seq % uint64(len(slot)))
		torn := bytes.Clone(b)
		copy(torn[off:], slot[:k])
		rec, err := decodeRecord(torn)
		if err != nil || !sameRecord(rec, got) && !bytes.Equal(torn[off:off+int64(len(slot))], slot) {
			t.Fatalf("write torn at %d: got %+v, %v; want %+v", k, rec, err, got)
		}
	})
}
