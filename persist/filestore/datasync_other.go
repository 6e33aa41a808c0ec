//go:build !linux

package filestore

import "os"

// datasync flushes f to the disk. Systems without fdatasync(2) get fsync.
func datasync(f *os.File) error { return f.Sync() }
