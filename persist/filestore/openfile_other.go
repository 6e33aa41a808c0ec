//go:build !linux

package filestore

import "os"

// openFile opens an existing file of the store.
func openFile(name string, flag int) (storeFile, error) {
	f, err := os.OpenFile(name, flag, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}
