package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// cherrypyStyle is a port of CherryPy's FileSession as the seed
// (cherrypy_foundation.sessions) runs it, so that the algorithm is compared
// without the language. Per request it:
//
//  1. opens session-<id>.lock (creating it), tries flock(LOCK_EX|LOCK_NB),
//     and on failure closes it, sleeps poll and tries again, forever
//     (zc.lockfile.LockFile in CherryPy's acquire_lock loop); the holder
//     writes " <pid>\n" into the lock file;
//  2. reads and decodes the whole session file (gob stands in for pickle);
//  3. runs the handler;
//  4. encodes the session and rewrites the file in place (os.WriteFile: no
//     temp file, no fsync);
//  5. unlocks and closes the lock file, which stays on disk.
//
// poll is 1 ms in the seed and 100 ms in CherryPy itself.
type cherrypyStyle struct {
	name string
	poll time.Duration
}

func (c cherrypyStyle) Name() string { return c.name }

func (c cherrypyStyle) Open(dir string) (Instance, error) {
	return &cherrypyInst{dir: dir, poll: c.poll, pidLine: []byte(" " + strconv.Itoa(os.Getpid()) + "\n")}, nil
}

// cherrypyTimeout is CherryPy's default session timeout (60 minutes).
const cherrypyTimeout = time.Hour

// cherrypyRecord is what CherryPy pickles: (data, expiration_time).
type cherrypyRecord struct {
	Data    map[string]any
	Expires time.Time
}

type cherrypyInst struct {
	dir     string
	poll    time.Duration
	pidLine []byte
}

func (c *cherrypyInst) path(id string) string { return filepath.Join(c.dir, "session-"+id) }

// lock is CherryPy's acquire_lock with lock_timeout = forever (bounded
// here by ctx).
func (c *cherrypyInst) lock(ctx context.Context, id string) (*os.File, error) {
	name := c.path(id) + ".lock"
	for {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		err = tryFlock(f)
		if err == nil {
			_ = f.Truncate(0)
			_, _ = f.WriteAt(c.pidLine, 0)
			return f, nil
		}
		_ = f.Close()
		if !errors.Is(err, errWouldBlock) {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		time.Sleep(c.poll)
	}
}

// unlock is zc.lockfile's close: unlock, close, leave the file.
func unlock(f *os.File) {
	_ = unlockFlock(f)
	_ = f.Close()
}

// load reads the session; a missing or expired file is no session (nil).
func (c *cherrypyInst) load(id string) (map[string]any, error) {
	b, err := os.ReadFile(c.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec cherrypyRecord
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&rec); err != nil {
		return nil, err
	}
	if !time.Now().Before(rec.Expires) {
		return nil, nil
	}
	if rec.Data == nil {
		rec.Data = make(map[string]any)
	}
	return rec.Data, nil
}

// save rewrites the session file in place.
func (c *cherrypyInst) save(id string, data map[string]any) error {
	var buf bytes.Buffer
	rec := cherrypyRecord{Data: data, Expires: time.Now().Add(cherrypyTimeout)}
	if err := gob.NewEncoder(&buf).Encode(&rec); err != nil {
		return err
	}
	return os.WriteFile(c.path(id), buf.Bytes(), 0o600)
}

// request is one request on an existing session: lock, load, fn, save, unlock.
func (c *cherrypyInst) request(ctx context.Context, id string, fn func(mapValues) error) error {
	f, err := c.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock(f)
	data, err := c.load(id)
	if err != nil {
		return err
	}
	if data == nil {
		return errNoSession
	}
	if err := fn(data); err != nil {
		return err
	}
	return c.save(id, data)
}

// newCherrypyID returns a CherryPy session ID: 40 hex characters.
func newCherrypyID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (c *cherrypyInst) Create(ctx context.Context) (string, error) {
	id := newCherrypyID()
	f, err := c.lock(ctx, id)
	if err != nil {
		return "", err
	}
	defer unlock(f)
	return id, c.save(id, map[string]any{counterKey: 1})
}

func (c *cherrypyInst) Read(ctx context.Context, id string) error {
	return c.request(ctx, id, readMap)
}

func (c *cherrypyInst) Write(ctx context.Context, id string) error {
	return c.request(ctx, id, incrMap)
}

func (c *cherrypyInst) Update(ctx context.Context, id string, fn func(Values) error) error {
	return c.request(ctx, id, func(m mapValues) error { return fn(m) })
}

func readMap(m mapValues) error {
	if _, ok := m[counterKey]; !ok {
		return errNoSession
	}
	return nil
}

func incrMap(m mapValues) error {
	n, _ := m[counterKey].(int)
	m[counterKey] = n + 1
	return nil
}

// Handler is CherryPy's session tool with implicit locking: an unknown ID
// is replaced by a new one, the lock is held for the whole request, the
// session is saved after the handler and the cookie is sent every time.
func (c *cherrypyInst) Handler(app App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		if ck, err := r.Cookie(cookieName); err == nil && validCherrypyID(ck.Value) {
			if _, err := os.Stat(c.path(ck.Value)); err == nil {
				id = ck.Value
			}
		}
		if id == "" {
			id = newCherrypyID()
		}
		f, err := c.lock(r.Context(), id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer unlock(f)
		data, err := c.load(id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if data == nil {
			data = make(map[string]any)
		}
		body := app(r, mapValues(data))
		if err := c.save(id, data); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", MaxAge: int(cherrypyTimeout / time.Second)})
		_, _ = w.Write([]byte(body))
	})
}

func (c *cherrypyInst) Close() error { return nil }

// validCherrypyID reports whether id looks like a CherryPy ID (it becomes
// part of a file name).
func validCherrypyID(id string) bool {
	if len(id) != 40 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}
