//go:build linux

package filestore

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestOpenFile checks the store's open(2) of an existing file as
// os.OpenFile would do it: close-on-exec (a child process inherits no
// record file), blocking, a missing file reported as fs.ErrNotExist in a
// *fs.PathError, and a write landing in the file.
func TestOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	_, err := openFile(path, os.O_WRONLY)
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Equal(t, path, pe.Path)

	require.NoError(t, os.WriteFile(path, []byte("abcd"), 0o600))
	f, err := openFile(path, os.O_WRONLY)
	require.NoError(t, err)
	fd := int(f.(osFile).Fd())
	fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.NotZero(t, fdFlags&unix.FD_CLOEXEC, "FD_CLOEXEC")
	flFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	require.NoError(t, err)
	assert.Zero(t, flFlags&syscall.O_NONBLOCK, "O_NONBLOCK")
	assert.Equal(t, syscall.O_WRONLY, flFlags&syscall.O_ACCMODE, "access mode")
	_, err = f.WriteAt([]byte("X"), 1)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "aXcd", string(b))
}
