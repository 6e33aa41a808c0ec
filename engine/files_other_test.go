//go:build !unix

package engine_test

// runPlatformChild runs the child roles that need Unix: none here.
func runPlatformChild(string, string) (int, bool) { return 0, false }
