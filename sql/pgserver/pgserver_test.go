package pgserver

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/supervisor"
)

// These tests start real PostgreSQL servers; without the binaries they fail
// with ErrNotInstalled, which says how to provide them.

func TestFind(t *testing.T) {
	dir, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	if !hasServerBinaries(dir) {
		t.Fatalf("Find() = %s, which lacks initdb, pg_ctl or postgres", dir)
	}
}

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	dir := mustDataDir(t)

	s := mustStart(t, dir)
	mustQuery(t, s, "postgres")
	if err := s.EnsureDatabase(t.Context(), "wam"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureDatabase(t.Context(), "wam"); err != nil {
		t.Fatalf("second EnsureDatabase: %v", err)
	}
	mustExec(t, s, "wam", "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(t.Context(), s.URL("wam")); err == nil {
		t.Fatal("connected after Stop")
	}
	if err := s.Stop(t.Context()); err != nil {
		t.Fatalf("Stop of a stopped server: %v", err)
	}

	began := time.Now()
	s = mustStart(t, dir)
	t.Logf("restart on an existing data directory took %v", time.Since(began))
	if n := mustQuery(t, s, "wam", "SELECT n FROM kept"); n != 42 {
		t.Fatalf("after restart kept.n = %d, want 42", n)
	}
}

func TestURL(t *testing.T) {
	s := &Server{socketDir: "/tmp/a b+c&d%é=?#", port: defaultPort}
	cfg, err := pgx.ParseConfig(s.URL("my db"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != s.socketDir || cfg.Port != defaultPort || cfg.Database != "my db" || cfg.User != "postgres" {
		t.Fatalf("URL %s parses to host %q port %d database %q user %q", s.URL("my db"), cfg.Host, cfg.Port, cfg.Database, cfg.User)
	}
}

// A wam process that is killed leaves its server running; the next Start
// adopts it.
func TestAdoptOrphan(t *testing.T) {
	t.Parallel()
	dir := mustDataDir(t)

	orphan := mustStart(t, dir)
	mustExec(t, orphan, "postgres", "CREATE TABLE marker (n int); INSERT INTO marker VALUES (7)")
	pf, err := readPidFile(dir)
	if err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	s := mustStart(t, dir) // without stopping orphan
	t.Logf("adopting took %v", time.Since(began))
	if n := mustQuery(t, s, "postgres", "SELECT n FROM marker"); n != 7 {
		t.Fatalf("marker.n = %d, want 7", n)
	}
	if pf2, err := readPidFile(dir); err != nil || pf2.pid != pf.pid {
		t.Fatalf("server pid changed from %d to %d (%v): not adopted", pf.pid, pf2.pid, err)
	}
}

// A pid file left by a server that is gone (a crash of the machine) does not
// stop the next Start.
func TestStalePidFile(t *testing.T) {
	t.Parallel()
	dir := mustDataDir(t)

	s := mustStart(t, dir)
	stale, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), stale, 0o600); err != nil {
		t.Fatal(err)
	}
	s = mustStart(t, dir)
	mustQuery(t, s, "postgres")
}

// A data directory whose path is too long for a unix socket gets its socket
// in a short directory elsewhere, removed by Stop.
func TestLongPath(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(mustDataDir(t), strings.Repeat("long", 25))

	s := mustStart(t, dir)
	if s.socketDir == dir {
		t.Fatalf("socket in %s, whose path is too long", dir)
	}
	mustQuery(t, s, "postgres")

	// Adoption finds the socket through postmaster.pid.
	s2 := mustStart(t, dir)
	if s2.socketDir != s.socketDir {
		t.Fatalf("adopted server's socket dir %s, want %s", s2.socketDir, s.socketDir)
	}
	if err := s2.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.socketDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket dir %s left behind after Stop (%v)", s.socketDir, err)
	}
}

// As root, a data directory the postgres user cannot reach is refused with
// a message saying what to do, unless what is in the way is a temporary
// directory.
func TestUnreachableAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the server to another user")
	}
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", "/nonexistent") // parent is no temporary directory now
	_, err := Start(t.Context(), filepath.Join(parent, "pg"), Options{NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "chmod o+x "+parent) {
		t.Fatalf("Start = %v, want an error suggesting chmod o+x", err)
	}
	t.Log(err)
}

// TestSuperviseRestartsAfterSIGKILL: a postmaster killed with SIGKILL is
// started again, with its data, and a pool that had connections to the
// dead server reaches the new one by itself. A data directory with a path
// too long for a socket keeps its socket directory elsewhere, and the URL.
func TestSuperviseRestartsAfterSIGKILL(t *testing.T) {
	t.Parallel()
	for name, long := range map[string]bool{"socket in the data directory": false, "socket elsewhere": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := mustDataDir(t)
			if long {
				dir = filepath.Join(dir, strings.Repeat("long", 25))
			}
			testSuperviseRestartsAfterSIGKILL(t, dir)
		})
	}
}

func testSuperviseRestartsAfterSIGKILL(t *testing.T, dir string) {
	s := mustStart(t, dir)
	// Committed with the WAL written: NoSync's asynchronous commits could
	// be lost with the postmaster.
	mustExec(t, s, "postgres", "SET synchronous_commit = on; CREATE TABLE marker (n int); INSERT INTO marker VALUES (7)")
	logs := &logBuffer{tb: t}
	sup := s.Supervise(t.Context(), supervisor.Options{Interval: 50 * time.Millisecond, MinBackoff: 100 * time.Millisecond, Logger: logs.logger()})
	t.Cleanup(sup.Stop) // before mustStart's Stop

	pool, err := pgxpool.New(t.Context(), s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	marker := func() int {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		var n int
		if err := pool.QueryRow(ctx, "SELECT n FROM marker").Scan(&n); err != nil {
			return -1
		}
		return n
	}
	if n := marker(); n != 7 {
		t.Fatalf("marker = %d before the kill", n)
	}
	old, err := readPidFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := syscall.Kill(old.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	await.Until(t, 60*time.Second, "the restart", func() bool { return logs.count("private PostgreSQL started again") == 1 })
	if pf, err := readPidFile(dir); err != nil || pf.pid == old.pid {
		t.Fatalf("postmaster.pid names pid %d (%v), want a new postmaster", pf.pid, err)
	}
	await.Until(t, 30*time.Second, "the pool to reach the new server", func() bool { return marker() == 7 })
	t.Logf("back %v after the kill", time.Since(began).Round(time.Millisecond))
}

// TestSuperviseBacksOffWhileStartFails: a server stopped by someone else is
// started again; while it cannot start (here a bad setting), the
// supervisor keeps trying and logs why, and succeeds once it can.
func TestSuperviseBacksOffWhileStartFails(t *testing.T) {
	t.Parallel()
	dir := mustDataDir(t)
	s := mustStart(t, dir)
	restore := mustBreakConfig(t, dir)
	logs := &logBuffer{tb: t}
	sup := s.Supervise(t.Context(), supervisor.Options{Interval: 50 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Logger: logs.logger()})
	t.Cleanup(sup.Stop)
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	await.Until(t, 60*time.Second, "three failed attempts", func() bool { return logs.count("private PostgreSQL did not start") >= 3 })
	if !strings.Contains(logs.String(), "postmaster.pid is gone") || !strings.Contains(logs.String(), "shared_buffers") {
		t.Errorf("the log does not say why the server was down and why it did not start:\n%s", logs)
	}
	restore()
	await.Until(t, 60*time.Second, "the server started again", func() bool { return logs.count("private PostgreSQL started again") == 1 })
	mustQuery(t, s, "postgres")
}

// TestSuperviseStopsWithContext: a supervisor waiting to try again ends when
// its context does, without another attempt.
func TestSuperviseStopsWithContext(t *testing.T) {
	t.Parallel()
	dir := mustDataDir(t)
	s := mustStart(t, dir)
	mustBreakConfig(t, dir)
	logs := &logBuffer{tb: t}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sup := s.Supervise(ctx, supervisor.Options{Interval: 50 * time.Millisecond, MinBackoff: time.Hour, Logger: logs.logger()})
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	await.Until(t, 60*time.Second, "a failed attempt", func() bool { return logs.count("private PostgreSQL did not start") == 1 })
	cancel()
	select {
	case <-sup.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not stop with its context")
	}
	if n := logs.count("starting private PostgreSQL"); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

// mustBreakConfig gives the server a setting it refuses to start with, and
// returns a function that takes it back.
func mustBreakConfig(tb testing.TB, dir string) (restore func()) {
	tb.Helper()
	path := filepath.Join(dir, "postgresql.auto.conf") // ours to write, and read after wam.conf
	good, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, append(good, "shared_buffers = 'plenty'\n"...), 0o600); err != nil {
		tb.Fatal(err)
	}
	return func() {
		if err := os.WriteFile(path, good, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

// logBuffer keeps what a logger wrote, and shows it in the test's output.
type logBuffer struct {
	tb testing.TB
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.tb.Log(strings.TrimSuffix(string(p), "\n"))
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count counts the lines of message msg.
func (l *logBuffer) count(msg string) int {
	return strings.Count(l.String(), "msg=\""+msg+"\"")
}

// mustDataDir returns a fresh directory for a data directory. As root,
// Start must let user postgres through t.TempDir's 0700 directories.
func mustDataDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "pg")
}

func mustStart(tb testing.TB, dir string) *Server {
	tb.Helper()
	logger := slog.New(slog.NewTextHandler(tWriter{tb}, nil))
	s, err := Start(context.Background(), dir, Options{NoSync: true, Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// mustQuery runs a query returning one int (SELECT 1 by default).
func mustQuery(tb testing.TB, s *Server, db string, query ...string) int {
	tb.Helper()
	q := "SELECT 1"
	if len(query) > 0 {
		q = query[0]
	}
	conn, err := pgx.Connect(context.Background(), s.URL(db))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

func mustExec(tb testing.TB, s *Server, db, sql string) {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), s.URL(db))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

type tWriter struct{ tb testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
