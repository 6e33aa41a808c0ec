//go:build !unix

package redisstore_test

// The cross-process tests pause and resume processes with signals, which
// only Unix has.

func runChild(string) int { return 2 }
