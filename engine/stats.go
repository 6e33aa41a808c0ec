package engine

import (
	"sync/atomic"
	"time"

	"github.com/lockstep-go/lockstep/persist"
)

// Stats is a snapshot of an Engine's activity: how many sessions are
// resident now, and counters that only grow from Open (or New). A counter
// is read on its own, so fields of one snapshot may be a few events apart.
// docs/operations.md shows how to publish them (expvar, OpenTelemetry).
type Stats struct {
	// Active is the number of sessions resident in memory now (with the
	// file store, each also holds its lock file open).
	Active int

	// Turns counts the turns that ended: one per outermost Do, per Begin
	// (or BeginLazy that created its session) and per Regenerate's new ID.
	// Calls that run inline in a turn are part of it. Every turn the
	// engine took and let go counts, also those that ran no fn: the turn
	// of a Do that found its session destroyed or expired, the first turn
	// of a Do that found the lock lost and asked again, and the new ID's
	// turn of a Regenerate or lazy creation that failed or was undone.
	Turns uint64
	// TurnsWaited counts the turns asked for that had to queue behind
	// another turn of the same session in this process (granted or not).
	TurnsWaited uint64
	// WaitTime is the time those turns spent queued, summed.
	WaitTime time.Duration
	// LockTimeouts counts the calls that gave up after Config.LockTimeout
	// and returned ErrLockTimeout (what an HTTP adapter turns into 503s).
	// Each is also logged at Warn with the redacted session.
	LockTimeouts uint64
	// Deadlocks counts the calls that would have closed a cycle of turns
	// held through contexts and returned ErrDeadlock at once. Each is also
	// logged at Warn with the redacted session.
	Deadlocks uint64

	// Activations counts the sessions loaded into memory: store lock
	// taken, record read.
	Activations uint64
	// Passivations counts the sessions that left memory alive: saved if
	// needed, unlocked, dropped (idle, MaxResident, a hand-over, Close).
	Passivations uint64
	// HandOversGiven counts the passivations another holder asked for
	// (another process, or another Engine on the same directory).
	HandOversGiven uint64
	// HandOversTaken counts the activations that had to wait for another
	// holder to hand the session over. Only stores whose locks say so
	// (the file store and the memory store) are counted.
	HandOversTaken uint64
	// HandOverWait is the time those activations waited, summed.
	HandOverWait time.Duration

	// Commits counts the turns (and Turn.Commit calls) whose changes were
	// committed: written to the store, or with OnPassivate kept for it.
	Commits uint64
	// CommitsFailed counts the commits that failed (a value that does not
	// encode, a failed write, a lost lock) and were rolled back.
	CommitsFailed uint64
	// Refreshes counts the writes that only moved the stored expiry of a
	// session that was read but not changed (at most one per session every
	// IdleTimeout/8), so that a crash cannot expire it early.
	Refreshes uint64
	// Expired counts the sessions this engine found expired and deleted
	// (by a turn or at passivation; the sweeper's are in Swept).
	Expired uint64
	// LocksLost counts the sessions dropped from memory because their
	// store lock was lost (lock file or directory removed or replaced).
	LocksLost uint64
	// OutOfFiles counts the times an activation, creation or write ran out
	// of file descriptors (EMFILE, ENFILE) and idle sessions were
	// passivated to free some.
	OutOfFiles uint64

	// Sweeps counts the sweeps run, by the background sweeper and by Sweep.
	Sweeps uint64
	// Swept is the sum of those sweeps' reports: expired sessions, orphaned
	// lock files and temp files removed, and entries skipped as busy.
	Swept persist.SweepReport

	// EventsDropped counts the lifecycle events that Config.OnEvent was
	// too slow to take: its queue was full.
	EventsDropped uint64
}

// counters are the Engine's own counters; the actor runtime keeps those of
// the turns. Typed atomics: each is written on a path that costs far more
// (a write, a lock, a log line), never on the path of a read-only turn.
type counters struct {
	lockTimeouts   atomic.Uint64
	activations    atomic.Uint64
	passivations   atomic.Uint64
	handOversGiven atomic.Uint64
	handOversTaken atomic.Uint64
	handOverWait   atomic.Int64 // nanoseconds
	commits        atomic.Uint64
	commitsFailed  atomic.Uint64
	refreshes      atomic.Uint64
	expired        atomic.Uint64
	locksLost      atomic.Uint64
	outOfFiles     atomic.Uint64
	sweeps         atomic.Uint64
	sweptExpired   atomic.Uint64
	sweptOrphans   atomic.Uint64
	sweptTemp      atomic.Uint64
	sweptBusy      atomic.Uint64
}

// Stats returns a snapshot of the engine's activity. It is cheap enough to
// call on every scrape of a metrics endpoint.
func (e *Engine) Stats() Stats {
	c := &e.count
	rs := e.rt.Stats()
	return Stats{
		Active:         e.rt.Resident(),
		Turns:          rs.Turns,
		TurnsWaited:    rs.Waited,
		WaitTime:       rs.WaitTime,
		LockTimeouts:   c.lockTimeouts.Load(),
		Deadlocks:      rs.Deadlocks,
		Activations:    c.activations.Load(),
		Passivations:   c.passivations.Load(),
		HandOversGiven: c.handOversGiven.Load(),
		HandOversTaken: c.handOversTaken.Load(),
		HandOverWait:   time.Duration(c.handOverWait.Load()),
		Commits:        c.commits.Load(),
		CommitsFailed:  c.commitsFailed.Load(),
		Refreshes:      c.refreshes.Load(),
		Expired:        c.expired.Load(),
		LocksLost:      c.locksLost.Load(),
		OutOfFiles:     c.outOfFiles.Load(),
		Sweeps:         c.sweeps.Load(),
		Swept: persist.SweepReport{
			Expired:     int(c.sweptExpired.Load()),
			OrphanLocks: int(c.sweptOrphans.Load()),
			TempFiles:   int(c.sweptTemp.Load()),
			Busy:        int(c.sweptBusy.Load()),
		},
		EventsDropped: e.eventsDropped(),
	}
}

// swept counts one sweep and what it did.
func (c *counters) swept(rep persist.SweepReport) {
	c.sweeps.Add(1)
	c.sweptExpired.Add(uint64(rep.Expired))
	c.sweptOrphans.Add(uint64(rep.OrphanLocks))
	c.sweptTemp.Add(uint64(rep.TempFiles))
	c.sweptBusy.Add(uint64(rep.Busy))
}

// timedOut counts and logs a call that gave up after LockTimeout, and
// returns its error.
func (e *Engine) timedOut(id string) error {
	e.count.lockTimeouts.Add(1)
	e.cfg.Logger.Warn("engine: lock timeout", "session", redact(id), "lock_timeout", e.cfg.LockTimeout)
	return lockTimeout(id)
}
