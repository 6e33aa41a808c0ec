package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/internal/testkit"
	"github.com/lockstep-go/lockstep/persist"
	"github.com/lockstep-go/lockstep/persist/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The toy store passes the suite when it has no bug: so the failures of
// TestSuiteCatches come from the bugs alone.
func TestToyStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) persist.Store { return newToy("") }, storetest.HandsOver())
}

// bugEnv names the bug of the toy store that TestBrokenStore runs the suite
// on, in a child test process started by TestSuiteCatches.
const bugEnv = "LOCKSTEP_STORETEST_BUG"

// TestBrokenStore runs the suite on a toy store with one bug; it runs only
// as a child of TestSuiteCatches, which expects it to fail.
func TestBrokenStore(t *testing.T) {
	bug := os.Getenv(bugEnv)
	if bug == "" {
		t.Skip("runs only as a child of TestSuiteCatches")
	}
	storetest.Run(t, func(*testing.T) persist.Store { return newToy(bug) }, storetest.HandsOver(), storetest.Patience(time.Second))
}

// Run fails a store that breaks one rule, in the subtests of that rule:
// each bug runs TestBrokenStore in a child test process, which must fail
// where expected.
func TestSuiteCatches(t *testing.T) {
	for _, tt := range []struct {
		bug   string
		fails []string // subtests that must fail
	}{
		{bugNoExclusion, []string{"Exclusion", "ConcurrentIncrements"}},
		{bugSweepsLocked, []string{"Sweep", "SweepSparesHeldLock"}},
		{bugSaveAfterRelease, []string{"Released/Release"}},
		{bugSharesData, []string{"DataNotShared"}},
		{bugDropsOwner, []string{"SaveLoad"}},
		{bugCorruptNotNotFound, []string{"Quarantine"}},
		{bugDeleteKeeps, []string{"Delete", "Destroy"}},
		{bugNeverWanted, []string{"Wanted"}},
		{bugCtxUnwrapped, []string{"ContextEnds"}},
		{bugOwnerIgnored, []string{"Inspector/SessionsByOwner"}},
		{bugInspectWaits, []string{"Inspector/InspectHeld"}},
		{bugLockKeyApart, []string{"Inspector/LockKey"}},
		{bugNeverLocked, []string{"Inspector/SessionsLocked", "Inspector/InspectHeld"}},
	} {
		t.Run(tt.bug, func(t *testing.T) {
			t.Parallel()
			cmd, err := testkit.TestCommand("^TestBrokenStore$", bugEnv+"="+tt.bug)
			require.NoError(t, err)
			b, err := cmd.CombinedOutput()
			out := string(b)
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the suite passed a store with bug %q:\n%s", tt.bug, out)
			for _, name := range tt.fails {
				assert.Contains(t, out, "--- FAIL: TestBrokenStore/"+name+" ", "the suite did not fail %s for bug %q:\n%s", name, tt.bug, out)
			}
			assert.NotRegexp(t, `%[-+# 0-9.]*[vdqsxXtTgf]|%!`, out, "a failure message with a verb it did not format")
		})
	}
}

// Bugs of the toy store.
const (
	bugNoExclusion        = "no-exclusion"         // Lock never waits
	bugSweepsLocked       = "sweeps-locked"        // Sweep removes expired records that are locked
	bugSaveAfterRelease   = "save-after-release"   // Save on a released Lock writes
	bugSharesData         = "shares-data"          // Load returns the stored bytes themselves
	bugDropsOwner         = "drops-owner"          // Save forgets Record.Owner
	bugCorruptNotNotFound = "corrupt-not-notfound" // Quarantine's error matches ErrCorrupt only
	bugDeleteKeeps        = "delete-keeps"         // Delete releases but keeps the record
	bugNeverWanted        = "never-wanted"         // the store claims HandsOver but never calls wanted
	bugCtxUnwrapped       = "ctx-unwrapped"        // a Lock that gives up hides ctx.Err()
	bugOwnerIgnored       = "owner-ignored"        // Sessions lists every owner's sessions
	bugInspectWaits       = "inspect-waits"        // Inspect takes the session's lock
	bugLockKeyApart       = "lockkey-apart"        // LockKey locks another session than Lock
	bugNeverLocked        = "never-locked"         // Info.Locked is always false
)

// toy is a Store small enough to be obviously right without its bug. It
// calls wanted when another Lock waits, so it runs with HandsOver.
type toy struct {
	bug string

	mu      sync.Mutex // guards records and held
	records map[string]persist.Record
	held    map[string]*toySlot
}

// toySlot is a held session: waiters wait for done to close.
type toySlot struct {
	done   chan struct{}
	wanted func()
}

func newToy(bug string) *toy {
	return &toy{bug: bug, records: map[string]persist.Record{}, held: map[string]*toySlot{}}
}

func (s *toy) Lock(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	return s.lockKey(ctx, persist.Key(id), wanted)
}

// lockKey locks the session of key: the toy keeps sessions by key.
func (s *toy) lockKey(ctx context.Context, id string, wanted func()) (persist.Lock, error) {
	for {
		s.mu.Lock()
		slot := s.held[id]
		if slot == nil || s.bug == bugNoExclusion {
			s.held[id] = &toySlot{done: make(chan struct{}), wanted: wanted}
			s.mu.Unlock()
			return &toyLock{s: s, id: id}, nil
		}
		s.mu.Unlock()
		if slot.wanted != nil && s.bug != bugNeverWanted {
			slot.wanted()
		}
		select {
		case <-slot.done:
		case <-ctx.Done():
			if s.bug == bugCtxUnwrapped {
				return nil, errors.New("toy: gave up")
			}
			return nil, fmt.Errorf("toy: lock: %w", ctx.Err())
		}
	}
}

func (s *toy) Sweep(_ context.Context, now time.Time) (persist.SweepReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rep persist.SweepReport
	for id, rec := range s.records {
		if !rec.Expired(now) {
			continue
		}
		if s.held[id] != nil && s.bug != bugSweepsLocked {
			rep.Busy++
			continue
		}
		delete(s.records, id)
		rep.Expired++
		rep.Removed = append(rep.Removed, persist.Info{Key: id, Owner: rec.Owner, Created: rec.Created, Expires: rec.Expires})
	}
	if s.bug == bugSweepsLocked {
		for id, slot := range s.held {
			delete(s.held, id)
			close(slot.done)
		}
	}
	return rep, nil
}

func (s *toy) Close() error { return nil }

type toyLock struct {
	s        *toy
	id       string
	released bool
}

func (l *toyLock) Load() (persist.Record, error) {
	if l.released {
		return persist.Record{}, persist.ErrReleased
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	rec, ok := l.s.records[l.id]
	if !ok {
		return persist.Record{}, persist.ErrNotFound
	}
	if l.s.bug != bugSharesData {
		rec.Data = append([]byte(nil), rec.Data...)
	}
	return rec, nil
}

func (l *toyLock) Save(rec persist.Record, _ bool) error {
	if l.released && l.s.bug != bugSaveAfterRelease {
		return persist.ErrReleased
	}
	if l.s.bug == bugDropsOwner {
		rec.Owner = ""
	}
	if l.s.bug != bugSharesData {
		rec.Data = append([]byte(nil), rec.Data...)
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.records[l.id] = rec
	return nil
}

func (l *toyLock) Delete() error {
	if l.released {
		return persist.ErrReleased
	}
	if l.s.bug != bugDeleteKeeps {
		l.s.mu.Lock()
		delete(l.s.records, l.id)
		l.s.mu.Unlock()
	}
	return l.Release()
}

func (l *toyLock) Quarantine(cause error) error {
	if err := l.Delete(); err != nil {
		return err
	}
	if l.s.bug == bugCorruptNotNotFound {
		return fmt.Errorf("toy: %w: %w", persist.ErrCorrupt, cause)
	}
	return &persist.CorruptError{Path: "toy record", Err: cause}
}

func (l *toyLock) Release() error {
	if l.released {
		return persist.ErrReleased
	}
	l.released = true
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if slot := l.s.held[l.id]; slot != nil {
		delete(l.s.held, l.id)
		close(slot.done)
	}
	return nil
}

func (s *toy) Sessions(ctx context.Context, owner string, fn func(persist.Info) error) error {
	s.mu.Lock()
	var infos []persist.Info
	for key, rec := range s.records {
		if owner == "" || rec.Owner == owner || s.bug == bugOwnerIgnored {
			infos = append(infos, s.info(key, rec))
		}
	}
	s.mu.Unlock()
	for _, info := range infos {
		if err := fn(info); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *toy) Inspect(ctx context.Context, key string) (persist.Record, persist.Info, error) {
	if !validKey(key) {
		return persist.Record{}, persist.Info{}, persist.ErrBadKey
	}
	if s.bug == bugInspectWaits {
		l, err := s.lockKey(ctx, key, nil)
		if err != nil {
			return persist.Record{}, persist.Info{}, err
		}
		defer func() { _ = l.Release() }()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[key]
	if !ok {
		return persist.Record{}, persist.Info{}, persist.ErrNotFound
	}
	info := s.info(key, rec)
	rec.Data = append([]byte(nil), rec.Data...)
	return rec, info, nil
}

func (s *toy) LockKey(ctx context.Context, key string, wanted func()) (persist.Lock, error) {
	if !validKey(key) {
		return nil, persist.ErrBadKey
	}
	if s.bug == bugLockKeyApart {
		key = "apart-" + key
	}
	return s.lockKey(ctx, key, wanted)
}

// info describes the record of key; the caller holds s.mu.
func (s *toy) info(key string, rec persist.Record) persist.Info {
	return persist.Info{
		Key:     key,
		Owner:   rec.Owner,
		Created: rec.Created,
		Expires: rec.Expires,
		Bytes:   int64(len(rec.Data)),
		Locked:  s.held[key] != nil && s.bug != bugNeverLocked,
	}
}

func validKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	for _, c := range key {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
