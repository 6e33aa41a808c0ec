package engine

import (
	"cmp"
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
	DefaultMaxResident    = 10000 // where the descriptor limit is unknown, and the most the derived default gives
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

	// MaxIdleTimeout is the longest idle timeout a session may ask for
	// with Session.SetIdleTimeout, e.g. for "remember me": IdleTimeout
	// stays what every other session gets. Longer requests are capped to
	// it. Default IdleTimeout (a session may shorten its idle timeout, not
	// lengthen it); it must not be shorter than IdleTimeout.
	MaxIdleTimeout time.Duration

	// MaxLifetime is the longest absolute lifetime a session may ask for
	// with Session.SetLifetime; longer requests are capped to it. Default
	// Lifetime, where zero means no cap. It must not be shorter than a
	// non-zero Lifetime.
	MaxLifetime time.Duration

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
	// holds its values and, with the file store, an open lock file. The
	// default is derived from the soft limit L on open files (RLIMIT_NOFILE,
	// `ulimit -n`) when the engine starts: (L - min(L/4, 256)) / 2, at least
	// 16 and at most DefaultMaxResident (L=1024 gives 384), so that sockets
	// keep the rest; DefaultMaxResident where the limit is unknown. If an
	// activation, creation or write still runs out of descriptors, idle
	// sessions are passivated and it is tried again; then it fails with an
	// error that says which limit to raise.
	MaxResident int

	// Durability says when changes reach the store. The zero value is
	// OnCommit.
	Durability Durability

	// Logger receives what the engine cannot return to a caller
	// (passivation and sweep errors, corrupt records). Nil means
	// slog.Default().
	Logger *slog.Logger

	// Codec encodes session values for the store and decodes them; see
	// [Codec] for what it must promise. Nil means GobCodec (encoding/gob).
	Codec Codec

	// Now is the engine's clock. Nil means time.Now.
	Now func() time.Time

	// OnEvent receives the sessions' lifecycle events (see [Event]) after
	// they happened, on a goroutine of the engine's own, outside any turn,
	// one at a time and in order per session. It must not block for long:
	// events wait for it in a queue of 4096, past which they are dropped,
	// counted in Stats.EventsDropped and logged; turns never wait for it.
	// It may call the engine. Shutdown delivers the events queued before
	// it, within its ctx. Nil (the default) reports nothing.
	OnEvent func(Event)

	// Observer receives timings of the engine's work (see [Observer]).
	// Nil (the default) costs one pointer check per turn.
	Observer *Observer
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
// MaxResident, a duration longer than MaxDuration, a MaxIdleTimeout or
// MaxLifetime shorter than what every session gets, an unknown Durability.
// Open and New return its error.
func (cfg Config) Validate() error {
	for _, d := range []struct {
		name     string
		v        time.Duration
		negative bool // a negative value means something
	}{
		{"IdleTimeout", cfg.IdleTimeout, false},
		{"Lifetime", cfg.Lifetime, false},
		{"MaxIdleTimeout", cfg.MaxIdleTimeout, false},
		{"MaxLifetime", cfg.MaxLifetime, false},
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
	if idle := cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout); cfg.MaxIdleTimeout != 0 && cfg.MaxIdleTimeout < idle {
		return fmt.Errorf("engine: Config.MaxIdleTimeout (%v) is shorter than IdleTimeout (%v)", cfg.MaxIdleTimeout, idle)
	}
	if cfg.MaxLifetime != 0 && cfg.MaxLifetime < cfg.Lifetime {
		return fmt.Errorf("engine: Config.MaxLifetime (%v) is shorter than Lifetime (%v)", cfg.MaxLifetime, cfg.Lifetime)
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
	if cfg.MaxIdleTimeout == 0 {
		cfg.MaxIdleTimeout = cfg.IdleTimeout
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = cfg.Lifetime
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
		cfg.MaxResident = defaultMaxResident()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}
