package filestore

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkHandOverWithoutWatcher measures a hand-over from a holder that
// has no watcher, so that it learns of the request only by polling: the
// time from the waiter's Lock until it holds the key, the holder releasing
// as soon as it is asked. The waiter watches ("waiter-watches", the usual
// case: one process degraded) or polls too ("both-poll"). Run it with
// -benchtime=50x; p50-ms and p99-ms are the median and 99th percentile.
// Each request comes at a random moment of the holder's polling period.
func BenchmarkHandOverWithoutWatcher(b *testing.B) {
	for _, bc := range []struct {
		name          string
		waiterWatches bool
	}{{"waiter-watches", true}, {"both-poll", false}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			holder := openBenchDir(b, dir, Config{noWatch: true})
			waiter := openBenchDir(b, dir, Config{noWatch: !bc.waiterWatches})
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				id := strconv.Itoa(i)
				wanted := make(chan struct{}, 1)
				l, err := holder.Lock(ctx, id, func() {
					select {
					case wanted <- struct{}{}:
					default:
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				// Requests come at any moment of the holder's polling
				// period, not right after its last poll.
				b.StopTimer()
				time.Sleep(rand.N(pollEvery))
				b.StartTimer()
				released := make(chan error, 1)
				go func() {
					<-wanted
					released <- l.Release()
				}()
				start := time.Now()
				l2, err := waiter.Lock(ctx, id, nil)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if err := errors.Join(<-released, l2.Release()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[(len(lat)*99)/100]), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
		})
	}
}

func openBenchDir(b *testing.B, dir string, cfg Config) *Store {
	b.Helper()
	d, err := Open(dir, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// TestPollerListsOnlyWhenNeeded: without a watch, the poller lists the
// directory only when it may hold a request it has not passed on: a quiet
// directory is not listed again, and a key taken after its request was
// listed (the directory unchanged since) is still asked for.
func TestPollerListsOnlyWhenNeeded(t *testing.T) {
	dir := t.TempDir()
	polls := make(chan bool, 64)
	d := openTestDir(t, dir, Config{noWatch: true, polled: func(listed bool) {
		select {
		case polls <- listed:
		default:
		}
	}})
	nextPoll := func() bool {
		select {
		case listed := <-polls:
			return listed
		case <-time.After(pollTestTimeout):
			t.Fatal("the poller stopped")
			return false
		}
	}
	// quiet sets the directory's modification time long into the past
	// and waits until the poller no longer lists it.
	past := time.Now().Add(-time.Hour)
	quiet := func() {
		t.Helper()
		require.NoError(t, os.Chtimes(dir, past, past))
		for i := 0; nextPoll(); i++ {
			// The listing in flight and the one that sees the new time.
			require.Less(t, i, 2, "the poller lists a directory that did not change")
		}
		for range 3 {
			assert.False(t, nextPoll(), "the poller lists a directory that did not change")
		}
	}

	la := mustLock(t, d, "a")
	defer la.Release()
	quiet()

	// A request for b, listed while nobody here holds b, whose lock file
	// exists (its last holder released it), so that taking b does not
	// change the directory.
	want := d.path(recordName(keyOf("b")) + wantInfix + "x1")
	require.NoError(t, os.WriteFile(want, nil, 0o600))
	require.NoError(t, os.WriteFile(d.path(lockName(keyOf("b"))), nil, 0o600))
	quiet()
	wanted := make(chan struct{}, 1)
	lb, err := d.Lock(context.Background(), "b", func() {
		select {
		case wanted <- struct{}{}:
		default:
		}
	})
	require.NoError(t, err)
	select {
	case <-wanted:
	case <-time.After(pollTestTimeout):
		t.Error("a request listed before the key was taken never reached its holder")
	}
	require.NoError(t, lb.Release())
	_, err = os.Stat(want)
	assert.ErrorIs(t, err, fs.ErrNotExist, "the holder did not remove the request it was given")
}

// pollTestTimeout fails a test whose poller never does what it must do
// within a few polling periods; it measures nothing.
const pollTestTimeout = 10 * time.Second
