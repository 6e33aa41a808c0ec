package engine

import (
	"fmt"
)

// Descriptor budget. With the file store every resident session holds its
// lock file open, and activating, creating or writing one opens another
// file for a moment; the rest of the process needs descriptors for its
// sockets.
const (
	// fileReserveMax caps the part of the descriptor limit that the
	// default MaxResident leaves alone: a quarter of the limit, at most
	// fileReserveMax.
	fileReserveMax = 256
	// minMaxResident is the smallest default MaxResident, whatever the limit.
	minMaxResident = 16
	// shedBatch is how many idle sessions are passivated, at least, when an
	// operation runs out of descriptors, before it is tried again.
	shedBatch = 16
	// shedTries is how often an operation that ran out of descriptors is
	// tried again after passivating idle sessions.
	shedTries = 3
)

// defaultMaxResident derives the default MaxResident from the soft limit L
// on open descriptors (RLIMIT_NOFILE): half of what is left after a
// reserve of min(256, L/4), within [16, DefaultMaxResident]. Resident
// sessions then use at most half of the budget beyond the reserve, and the
// rest stays for sockets and the files a write opens for a moment. Where
// the limit is unknown (or unlimited), it is DefaultMaxResident.
//
// For example: L=64 gives 24; L=1024 gives 384; L=4096 gives 1920; from
// L=20256 on, 10000.
func defaultMaxResident() int {
	limit, ok := fileLimit()
	if !ok {
		return DefaultMaxResident
	}
	return maxResidentFor(limit)
}

func maxResidentFor(limit uint64) int {
	reserve := min(limit/4, fileReserveMax)
	n := (limit - reserve) / 2
	return int(max(minMaxResident, min(n, DefaultMaxResident)))
}

// withFiles runs op, which opens files. If it runs out of descriptors, idle
// sessions are passivated (the least recently used first) to free theirs,
// and op is tried again, up to shedTries times. If it still fails for want
// of descriptors, the error says what to raise.
func (e *Engine) withFiles(op func() error) error {
	err := op()
	if !outOfFiles(err) {
		return err
	}
	for range shedTries {
		e.count.outOfFiles.Add(1)
		shed := e.rt.Shed(max(shedBatch, e.rt.Resident()/8))
		e.cfg.Logger.Warn("engine: out of file descriptors; passivated idle sessions to free some",
			"passivated", shed, "resident", e.rt.Resident(), "err", err)
		if err = op(); !outOfFiles(err) {
			return err
		}
		if shed == 0 {
			break
		}
	}
	limit, _ := fileLimit()
	return fmt.Errorf("out of file descriptors with %d sessions resident (RLIMIT_NOFILE soft limit %d, MaxResident %d): "+
		"raise the limit (ulimit -n, LimitNOFILE= in systemd) or lower Config.MaxResident: %w",
		e.rt.Resident(), limit, e.cfg.MaxResident, err)
}
