package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The listener's probe: it notifies its own channel from a pool connection
// and waits probeWait for the notification; it probes again every
// reprobeEvery while notifications arrive, and every reprobeFailed while
// they do not.
const (
	probeWait     = time.Second
	reprobeEvery  = 30 * time.Second
	reprobeFailed = 30 * time.Second
)

// Listener reconnects back off from minReconnect to maxReconnect while the
// server cannot be reached.
const (
	minReconnect = 10 * time.Millisecond
	maxReconnect = time.Second
)

// listen is the listener goroutine: it keeps one connection of its own
// listening on the store's channel, checks that notifications arrive, and
// passes hand-over requests ("w"+key+":"+store) to holders of this Store
// and releases ("f"+key) to its waiters. It ends when ctx does (Close
// cancels it).
func (s *Store) listen(ctx context.Context) {
	defer s.wg.Done()
	backoff := minReconnect
	failing := false
	for ctx.Err() == nil {
		up, err := s.serve(ctx)
		s.setListening(false)
		if ctx.Err() != nil {
			return
		}
		if !failing {
			s.log.Warn("pgstore: hand-over listener lost, waiters poll until it is back", "err", err)
			failing = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxReconnect)
		if up {
			backoff, failing = minReconnect, false
		}
	}
}

// serve connects, listens and handles notifications until the connection
// fails or ctx ends; up reports whether it got as far as listening.
func (s *Store) serve(ctx context.Context) (up bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	conn, err := pgx.ConnectConfig(cctx, s.connCfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	cctx, cancel = context.WithTimeout(ctx, s.timeout)
	_, err = conn.Exec(cctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize())
	cancel()
	if err != nil {
		return false, err
	}
	for {
		ok, err := s.probe(ctx, conn)
		if err != nil {
			return true, err
		}
		s.setListening(ok)
		s.probes.Add(1)
		next := reprobeEvery
		if !ok {
			next = reprobeFailed
		}
		if err := s.receive(ctx, conn, time.Now().Add(next), ""); err != nil {
			return true, err
		}
	}
}

// probe notifies the store's channel from a pool connection and reports
// whether conn hears it within probeWait.
func (s *Store) probe(ctx context.Context, conn *pgx.Conn) (bool, error) {
	payload := "p" + newToken()
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	_, err := s.pool.Exec(pctx, "SELECT pg_notify($1, $2)", pgx.QueryExecModeExec, s.channel, payload)
	cancel()
	if err != nil {
		return false, nil // the pool's trouble: try again later
	}
	err = s.receive(ctx, conn, time.Now().Add(probeWait), payload)
	switch {
	case errors.Is(err, errHeard):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// errHeard ends receive when the awaited notification arrives.
var errHeard = errors.New("pgstore: probe heard")

// receive handles notifications until deadline, or until one whose
// payload is await arrives (then it returns errHeard).
func (s *Store) receive(ctx context.Context, conn *pgx.Conn, deadline time.Time, await string) error {
	for {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
			if conn.IsClosed() {
				return err
			}
			return nil
		default:
			return err
		}
		if await != "" && n.Payload == await {
			return errHeard
		}
		s.handle(n.Payload)
	}
}

// setListening records whether notifications arrive; when they start to,
// every waiter retries and asks again, now that its holder will hear it.
func (s *Store) setListening(ok bool) {
	if s.listening.Swap(ok) != ok && ok {
		s.waiters.WakeAll()
	}
}

// handle acts on one message of the hand-over channel (see
// persist.Waiters.Notice).
func (s *Store) handle(payload string) { s.waiters.Notice(payload, s.id, s.request) }

// renew is the lease renewal goroutine: every third of LeaseTTL it renews
// the leases of every session held through this Store in one statement and
// passes on the hand-over requests it finds; while notifications do not
// arrive it also looks for requests every 250ms. It tells the holders of
// leases that are gone, or that could not be renewed for LeaseTTL, to let
// go (their wanted is called). It ends when Close is called.
func (s *Store) renew() {
	defer s.wg.Done()
	every := s.ttl / 3
	tick := min(every, wantPoll)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	last := time.Now()
	for {
		select {
		case <-s.done:
			return
		case <-ticker.C:
		}
		s.expireOverdue()
		switch {
		case time.Since(last) >= every-tick/2:
			last = time.Now()
			s.renewAll()
		case !s.listening.Load():
			s.pollWants()
		}
	}
}

// expireOverdue tells the holders of leases that have run out by this
// process's clock (LeaseTTL since the last take or renewal that succeeded
// was sent) to let go: they must not serve the session from memory any
// more. After a pause of the process (SIGSTOP, a long GC, a suspended VM)
// the ticker fires at once, so this runs before any renewal is tried.
func (s *Store) expireOverdue() {
	ls, _, _ := s.heldLocks()
	now := s.now()
	for _, l := range ls {
		if now-l.renewed.Load() >= int64(s.ttl) && s.stillHeld(l) && !l.lost.Swap(true) {
			s.log.Warn("pgstore: lease ran out before it could be renewed", "key", l.key)
			if l.wanted != nil {
				l.wanted()
			}
		}
	}
}

// heldLocks returns the locks held through s that are not being released.
func (s *Store) heldLocks() (ls []*lock, keys, tokens []string) {
	for _, l := range s.held.Locks() {
		if !l.lost.Load() && !l.ending.Load() {
			ls = append(ls, l)
			keys = append(keys, l.key)
			tokens = append(tokens, l.token)
		}
	}
	return ls, keys, tokens
}

// stillHeld reports whether l still holds its session through s and is not
// being released.
func (s *Store) stillHeld(l *lock) bool {
	return s.held.Holder(l.key) == l && !l.ending.Load()
}

// renewAll renews every held lease in one statement.
func (s *Store) renewAll() {
	ls, keys, tokens := s.heldLocks()
	if len(ls) == 0 {
		return
	}
	start := s.now()
	ctx, cancel := s.statement()
	defer cancel()
	renewed := make(map[string]bool, len(ls)) // by key: wanted
	rows, err := s.pool.Query(ctx, s.q.renew, pgx.QueryExecModeExec, keys, tokens, s.ttlMS)
	if err == nil {
		var key string
		var wanted bool
		_, err = pgx.ForEachRow(rows, []any{&key, &wanted}, func() error {
			renewed[key] = wanted
			return nil
		})
	}
	if err != nil && !s.closed.Load() {
		s.log.Warn("pgstore: renew leases", "sessions", len(ls), "err", err)
	}
	now := s.now()
	for _, l := range ls {
		wanted, ok := renewed[l.key]
		switch {
		case !s.stillHeld(l):
			// Released since: its absence is its own release.
		case ok:
			l.renewed.Store(start)
			if wanted && l.wanted != nil {
				l.wanted()
			}
		case err == nil:
			l.lost.Store(true)
			s.log.Warn("pgstore: lease lost while held", "key", l.key)
			if l.wanted != nil {
				l.wanted()
			}
		case now-l.renewed.Load() >= int64(s.ttl):
			// Not renewed for LeaseTTL: the holder must stop serving the
			// session from memory.
			l.lost.Store(true)
			s.log.Warn("pgstore: lease ran out: the server could not be reached to renew it", "key", l.key)
			if l.wanted != nil {
				l.wanted()
			}
		}
	}
}

// pollWants looks for hand-over requests for the sessions held through s.
func (s *Store) pollWants() {
	if s.held.Len() == 0 {
		return
	}
	ctx, cancel := s.statement()
	defer cancel()
	rows, err := s.pool.Query(ctx, s.q.wants, pgx.QueryExecModeExec)
	if err != nil {
		return // renewAll reports trouble
	}
	var key string
	var token *string
	var wanted []string
	_, err = pgx.ForEachRow(rows, []any{&key, &token}, func() error {
		if token != nil && s.holds(key, *token) {
			wanted = append(wanted, key)
		}
		return nil
	})
	if err != nil {
		return
	}
	for _, key := range wanted {
		s.request(key)
	}
}

// holds reports whether s holds the session of key with token.
func (s *Store) holds(key, token string) bool {
	l := s.held.Holder(key)
	return l != nil && l.token == token
}
