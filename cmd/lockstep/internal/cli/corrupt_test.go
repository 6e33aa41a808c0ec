package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
)

// show reads a record that does not decode where it is, and records set
// aside, saying why each does not decode.
func TestShowCorrupt(t *testing.T) {
	f := fixtures(t)[1]
	dir := f.args[1]
	id := testkit.NewID()
	key := put(t, f.store, id, "erin", created, expires, encode(t, map[string]any{"n": 1}))
	path := filepath.Join(dir, "session-"+key)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for i := 32; i < len(b); i++ {
		b[i] ^= 0x55
	}
	require.NoError(t, os.WriteFile(path, b, 0o600))

	r := f.run(t, "show", key)
	require.Equal(t, 0, r.code, r.err)
	assert.Regexp(t, `^key       `+key+`\nrecord    does not decode: filestore: .+\n$`, r.out)
	_, err = os.Stat(path)
	assert.NoError(t, err, "show moved the record")
	r = f.run(t, "show", "-json", key)
	require.Equal(t, 0, r.code, r.err)
	assert.Regexp(t, `^\{"key":"`+key+`","record":null,"record_error":"filestore: .+","quarantined":\[\]\}\n$`, r.out)

	// The engine's next load sets it aside.
	l, err := f.store.Lock(t.Context(), id, nil)
	require.NoError(t, err)
	_, err = l.Load()
	require.ErrorIs(t, err, persist.ErrCorrupt)
	require.NoError(t, l.Delete())

	// A record whose values its holder could not decode is set aside whole.
	key2 := put(t, f.store, testkit.NewID(), "frank", created, expires, []byte("no gob here"))
	l, err = f.store.LockKey(t.Context(), key2, nil)
	require.NoError(t, err)
	require.ErrorIs(t, l.Quarantine(assert.AnError), persist.ErrCorrupt)

	r = f.run(t, "show", key)
	require.Equal(t, 0, r.code, r.err)
	assert.Regexp(t, `^key       `+key+`\nrecord    none\n\nquarantined  session-`+key+`\.corrupt-[0-9]+\nset aside    \S+ \(\S+ ago\)\nbytes        [0-9]+\nreason       the record does not decode: filestore: .+\n$`, r.out)

	r = f.run(t, "show", key2)
	require.Equal(t, 0, r.code, r.err)
	assert.Contains(t, r.out, "record    none\n")
	assert.Contains(t, r.out, "reason       its values do not decode: decode session values: ")
	assert.Contains(t, r.out, "owner        frank\n")
	assert.Contains(t, r.out, "values    do not decode (11 bytes)")

	r = f.run(t, "show", "-json", key)
	require.Equal(t, 0, r.code, r.err)
	assert.Regexp(t, `^\{"key":"`+key+`","record":null,"quarantined":\[\{"name":"session-`+key+`\.corrupt-[0-9]+","time":"[^"]+","bytes":[0-9]+,"reason":"the record does not decode: filestore: [^"]+","record":null\}\]\}\n$`, r.out)
	r = f.run(t, "show", "-json", key2)
	require.Equal(t, 0, r.code, r.err)
	assert.Contains(t, r.out, `"reason":"its values do not decode: decode session values: `)
	assert.Contains(t, r.out, `"record":{"owner":"frank",`)
	assert.Contains(t, r.out, `"values":[],"values_error":"decode session values: `)

	r = f.run(t, "stats")
	require.Equal(t, 0, r.code, r.err)
	assert.Contains(t, r.out, "quarantined   2\n")
	assert.Contains(t, r.out, "sessions      0\n")
}
