//go:build !unix

package engine

// fileLimit reports that the descriptor limit is unknown: the default
// MaxResident is then DefaultMaxResident.
func fileLimit() (uint64, bool) { return 0, false }

// outOfFiles reports false: running out of handles is not recognised on
// this platform, and the error is returned as it is.
func outOfFiles(error) bool { return false }
