//go:build !linux

package filestore_test

import "errors"

// runExhausted is the child of TestHandOverWithoutInotify, which needs
// Linux's inotify.
func runExhausted(string, []string) error {
	return errors.New("the inotify limit exists on Linux only")
}
