//go:build !linux

package filestore

import (
	"io/fs"
	"os"
)

// sameFile reports whether the open file f is the file fi describes.
func sameFile(f *os.File, fi fs.FileInfo) (bool, error) {
	got, err := f.Stat()
	return err == nil && os.SameFile(got, fi), err
}
