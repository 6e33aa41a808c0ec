package engine

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultIdleTimeout    = 60 * time.Minute
	DefaultPassivateAfter = 2 * time.Minute
	DefaultLockTimeout    = 10 * time.Second
	DefaultSweepInterval  = 5 * time.Minute
	DefaultMaxResident    = 10000
)

// MaxDuration bounds every duration of Config. A session's deadline is
// stored as nanoseconds since 1970 in a signed 64-bit integer, which ends
// in 2262; longer durations would overflow it (and the cookie's Max-Age),
// and a session would be lost at its next load. A hundred years keeps
// deadlines representable until the 22nd century.
const MaxDuration = 100 * 365 * 24 * time.Hour

// Config configures an Engine. The zero value is a working configuration.
type Config struct {
	// IdleTimeout expires a session this long after its last Do.
	// Default 60 minutes; at most MaxDuration.
	IdleTimeout time.Duration

	// Lifetime expires a session this long after Create, however busy it
	// is. Zero means no absolute limit; at most MaxDuration.
	Lifetime time.Duration

	// PassivateAfter is how long a resident session stays loaded (and, with
	// the file store, locked) after its last turn before it is saved,
	// unlocked and dropped from memory. Another process that wants the
	// session does not wait for it: an idle holder hands over at once.
	// Default 2 minutes, and never more than IdleTimeout.
	PassivateAfter time.Duration

	// LockTimeout is the longest a Do waits for its turn, in this process
	// and across processes together. Default 10 seconds; at most
	// MaxDuration.
	LockTimeout time.Duration

	// SweepInterval is the cadence of the background sweeper. Default
	// 5 minutes; negative disables it (Sweep can still be called); at most
	// MaxDuration.
	SweepInterval time.Duration

	// MaxResident caps the number of resident sessions; past it the least
	// recently used idle sessions are passivated. Each resident session
	// holds its values and, with the file store, an open lock file.
	// Default 10000.
	MaxResident int

	// Durability says when changes reach the store. The zero value is
	// OnCommit.
	Durability Durability

	// Logger receives what the engine cannot return to a caller
	// (passivation and sweep errors, corrupt records). Nil means
	// slog.Default().
	Logger *slog.Logger

	// Now is the engine's clock. Nil means time.Now.
	Now func() time.Time
}

// Durability says when a session's changes are written to the store.
type Durability int

const (
	// OnCommit writes a Do that changed the session before Do returns
	// (with the file store, in place into the record's spare slot: a
	// page-cache write). Survives a crash of the process.
	OnCommit Durability = iota
	// OnCommitSync is OnCommit plus one fdatasync before Do returns, and
	// a sync of the directory after a file is created, renamed or removed
	// (Destroy, Regenerate, expiry). Survives a power loss.
	OnCommitSync
	// OnPassivate writes only at passivation, Regenerate, Destroy and
	// Close. A crash loses the changes made since the session was loaded.
	OnPassivate
)

// String returns the constant's name.
func (d Durability) String() string {
	switch d {
	case OnCommit:
		return "OnCommit"
	case OnCommitSync:
		return "OnCommitSync"
	case OnPassivate:
		return "OnPassivate"
	}
	return fmt.Sprintf("Durability(%d)", int(d))
}

// Validate reports why cfg cannot work, or nil: a negative duration
// (other than SweepInterval, where it disables the sweeper) or
// MaxResident, a duration longer than MaxDuration, an unknown Durability.
// Open and New return its error.
func (cfg Config) Validate() error {
	for _, d := range []struct {
		name     string
		v        time.Duration
		negative bool // a negative value means something
	}{
		{"IdleTimeout", cfg.IdleTimeout, false},
		{"Lifetime", cfg.Lifetime, false},
		{"PassivateAfter", cfg.PassivateAfter, false},
		{"LockTimeout", cfg.LockTimeout, false},
		{"SweepInterval", cfg.SweepInterval, true},
	} {
		switch {
		case d.v < 0 && !d.negative:
			return fmt.Errorf("engine: Config.%s is negative (%v)", d.name, d.v)
		case d.v > MaxDuration:
			return fmt.Errorf("engine: Config.%s is %v, more than MaxDuration (%v): deadlines would overflow the clock", d.name, d.v, MaxDuration)
		}
	}
	if cfg.MaxResident < 0 {
		return fmt.Errorf("engine: Config.MaxResident is negative (%d)", cfg.MaxResident)
	}
	if cfg.Durability < OnCommit || cfg.Durability > OnPassivate {
		return fmt.Errorf("engine: Config.Durability: unknown %v", cfg.Durability)
	}
	return nil
}

// withDefaults validates cfg and fills in its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	// Open and New come here first, once per engine: the codec's common
	// types are registered before any value is encoded or decoded.
	registerGobTypes()
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.PassivateAfter == 0 {
		cfg.PassivateAfter = DefaultPassivateAfter
	}
	cfg.PassivateAfter = min(cfg.PassivateAfter, cfg.IdleTimeout)
	if cfg.LockTimeout == 0 {
		cfg.LockTimeout = DefaultLockTimeout
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.MaxResident == 0 {
		cfg.MaxResident = DefaultMaxResident
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}
