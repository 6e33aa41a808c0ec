package testkit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequirePostgresEnv, set to "1", makes StartPostgres and StartPgBouncer
// fail the test, instead of skipping it, when no server can be started (CI
// sets it).
const RequirePostgresEnv = "LOCKSTEP_REQUIRE_POSTGRES"

// serverStart bounds how long a server may take to say it is ready.
const serverStart = 30 * time.Second

// PostgresBin returns the directory holding initdb and postgres: the
// newest /usr/lib/postgresql/<version>/bin (Debian's layout), or the
// directory of initdb on PATH. It returns "" when there is none.
func PostgresBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// version is the major version in a Debian binary directory's path.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// HavePgBouncer reports whether pgbouncer is installed.
func HavePgBouncer() bool {
	_, err := pgbouncerPath()
	return err == nil
}

func pgbouncerPath() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	const debian = "/usr/sbin/pgbouncer"
	if _, err := os.Stat(debian); err != nil {
		return "", err
	}
	return debian, nil
}

// Postgres is a private PostgreSQL server on a free loopback port, with its
// data directory in a temporary directory and fsync off. User postgres
// may connect to database postgres without a password. As root, the server
// runs as the postgres user (PostgreSQL refuses to run as root). Its
// methods are used by one goroutine at a time.
type Postgres struct {
	Port int // on 127.0.0.1

	bin  string
	dir  string       // the temporary directory: data/ and whatever else
	cred *credentials // nil when not root
	srv  *daemon
}

// credentials are the user a server runs as when the tests run as root.
type credentials struct{ uid, gid uint32 }

// DSN returns a connection string for database postgres as user postgres.
func (p *Postgres) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
}

// StartPostgres starts a private PostgreSQL server, stopped and removed
// when t ends. Without PostgreSQL installed it skips t, or fails it if
// RequirePostgresEnv is "1".
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	if PostgresBin() == "" {
		skipOrFail(t, "no PostgreSQL server installed (initdb not found)")
	}
	p, err := NewPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// skipOrFail skips t, or fails it when RequirePostgresEnv is "1".
func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequirePostgresEnv) == "1" {
		t.Fatal(why + " and " + RequirePostgresEnv + "=1")
	}
	t.Skip(why)
}

// NewPostgres is StartPostgres outside tests: it initialises a cluster in
// a new temporary directory and starts the server. Close stops it and
// removes the directory.
func NewPostgres() (*Postgres, error) {
	bin := PostgresBin()
	if bin == "" {
		return nil, errors.New("testkit: no PostgreSQL server installed (initdb not found)")
	}
	dir, err := os.MkdirTemp("", "lockstep-pg-")
	if err != nil {
		return nil, fmt.Errorf("testkit: %w", err)
	}
	p := &Postgres{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		if p.cred, err = lookupPostgres(); err == nil {
			err = os.Chown(dir, int(p.cred.uid), int(p.cred.gid))
		}
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("testkit: run PostgreSQL as root: %w", err)
		}
	}
	initdb := p.command(filepath.Join(bin, "initdb"), "-D", p.data(), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("testkit: initdb: %w\n%s", err, out)
	}
	for range 5 { // a free port may be taken before the server binds it
		if p.Port, err = freePort(0); err != nil {
			break
		}
		if err = p.start(); err == nil {
			return p, nil
		}
	}
	_ = os.RemoveAll(dir)
	return nil, err
}

// lookupPostgres finds the postgres user that Debian's package creates.
func lookupPostgres() (*credentials, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return &credentials{uid: uint32(uid), gid: uint32(gid)}, nil
}

func (p *Postgres) data() string { return filepath.Join(p.dir, "data") }

func (p *Postgres) start() error {
	cmd := p.command(filepath.Join(p.bin, "postgres"), "-D", p.data(),
		"-p", strconv.Itoa(p.Port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+p.dir, "-c", "fsync=off",
		"-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "logging_collector=off")
	srv, err := startDaemon(cmd, "database system is ready to accept connections")
	if err != nil {
		return fmt.Errorf("testkit: postgres on port %d: %w", p.Port, err)
	}
	p.srv = srv
	return nil
}

// Stop shuts the server down (fast shutdown: sessions are ended, what was
// committed stays) and waits for it. Stopping a stopped server does
// nothing.
func (p *Postgres) Stop() {
	if p.srv != nil {
		p.srv.stop(false)
		p.srv = nil
	}
}

// Restart stops the server and starts it again on the same port, with
// the same data.
func (p *Postgres) Restart(t testing.TB) {
	t.Helper()
	p.Stop()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
}

// Pause stops every process of the server with SIGSTOP (the postmaster
// and its children, which run in sessions of their own): connections stay
// open and nothing answers. Resume continues them.
func (p *Postgres) Pause() error { return p.srv.pause() }

// Resume continues a paused server.
func (p *Postgres) Resume() error { return p.srv.resume() }

// Close stops the server and removes its directory.
func (p *Postgres) Close() {
	if p.srv != nil {
		_ = p.srv.resume() // a paused server cannot shut down
	}
	p.Stop()
	_ = os.RemoveAll(p.dir)
}

// PgBouncer is a private PgBouncer in transaction pooling mode, on a free
// loopback port, in front of a Postgres. Its methods are used by one
// goroutine at a time.
type PgBouncer struct {
	Port int // on 127.0.0.1

	dir string
	srv *daemon
}

// DSN returns a connection string for database postgres, as user
// postgres, through the pooler.
func (b *PgBouncer) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", b.Port)
}

// StartPgBouncer starts a PgBouncer in front of pg, stopped when t ends.
// Without pgbouncer installed it skips t, or fails it if
// RequirePostgresEnv is "1".
func StartPgBouncer(t testing.TB, pg *Postgres) *PgBouncer {
	t.Helper()
	if !HavePgBouncer() {
		skipOrFail(t, "no pgbouncer installed")
	}
	b, err := NewPgBouncer(pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// NewPgBouncer is StartPgBouncer outside tests. Close stops it.
func NewPgBouncer(pg *Postgres) (*PgBouncer, error) {
	exe, err := pgbouncerPath()
	if err != nil {
		return nil, fmt.Errorf("testkit: no pgbouncer installed: %w", err)
	}
	dir := filepath.Join(pg.dir, "pgbouncer")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("testkit: %w", err)
	}
	if pg.cred != nil {
		if err := os.Chown(dir, int(pg.cred.uid), int(pg.cred.gid)); err != nil {
			return nil, fmt.Errorf("testkit: %w", err)
		}
	}
	b := &PgBouncer{dir: dir}
	for range 5 {
		if b.Port, err = freePort(0); err != nil {
			break
		}
		if err = b.start(pg, exe); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func (b *PgBouncer) start(pg *Postgres, exe string) error {
	ini := filepath.Join(b.dir, "pgbouncer.ini")
	users := filepath.Join(b.dir, "users.txt")
	conf := fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
server_reset_query =
server_login_retry = 1
`, pg.Port, b.Port, users)
	for name, text := range map[string]string{ini: conf, users: `"postgres" ""` + "\n"} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			return fmt.Errorf("testkit: %w", err)
		}
		if pg.cred != nil {
			if err := os.Chown(name, int(pg.cred.uid), int(pg.cred.gid)); err != nil {
				return fmt.Errorf("testkit: %w", err)
			}
		}
	}
	srv, err := startDaemon(pg.command(exe, ini), "process up")
	if err != nil {
		return fmt.Errorf("testkit: pgbouncer on port %d: %w", b.Port, err)
	}
	b.srv = srv
	return nil
}

// Close stops the pooler and waits for it. Closing twice does nothing.
func (b *PgBouncer) Close() {
	if b.srv != nil {
		b.srv.stop(false)
		b.srv = nil
	}
}

// daemon is a started server process whose output is drained.
type daemon struct {
	cmd    *exec.Cmd
	output chan struct{} // closed when the server's output is drained
}

// startDaemon starts cmd and returns once a line of its output contains
// ready.
func startDaemon(cmd *exec.Cmd, ready string) (*daemon, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string)
	s := &daemon{cmd: cmd, output: make(chan struct{})}
	go func(lines chan<- string) { // owned by stop, which waits for it
		defer close(s.output)
		sc := bufio.NewScanner(out)
		up := false
		for !up && sc.Scan() {
			lines <- sc.Text()
			up = strings.Contains(sc.Text(), ready)
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}(lines)
	var log strings.Builder
	timeout := time.NewTimer(serverStart)
	defer timeout.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				if strings.Contains(log.String(), ready) {
					return s, nil
				}
				s.stop(true)
				return nil, fmt.Errorf("did not start:\n%s", log.String())
			}
			log.WriteString(line + "\n")
			if strings.Contains(line, ready) {
				for range lines { // the reader closes lines after this one
				}
				return s, nil
			}
		case <-timeout.C:
			s.kill()
			for range lines { // the output ends with the server
			}
			s.stop(true)
			return nil, fmt.Errorf("not ready after %v:\n%s", serverStart, log.String())
		}
	}
}
