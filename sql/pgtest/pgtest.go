// Package pgtest gives each test a fresh PostgreSQL database with wam's
// migrations applied.
//
// A test package opts in from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and then calls New (a pool) or URL (a connection URL) in each test. Main
// uses the server named by WAM_TEST_DATABASE_URL if set, otherwise a private
// server it starts from the machine's PostgreSQL binaries and removes
// afterwards. It migrates a template database once; every New or URL copies
// it (CREATE DATABASE … TEMPLATE), which takes milliseconds, and drops the
// copy when the test ends.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/sql/migrations"
	"github.com/wam-project/wam/sql/pgserver"
)

// EnvURL names the environment variable that points the tests at an
// existing PostgreSQL server: a URL or key=value string for a role that may
// create databases (it connects to the maintenance database).
const EnvURL = "WAM_TEST_DATABASE_URL"

// howToProvide ends every message about PostgreSQL being unavailable.
const howToProvide = "these tests need PostgreSQL: install its server binaries (e.g. apt-get install postgresql) " +
	"so a private server can run, or set " + EnvURL + " to a server where tests may create databases " +
	"(e.g. postgres://postgres@localhost:5432/postgres?sslmode=disable)"

// tempPrefix names the directories of private servers, so a later run can
// clear up after a test binary that was killed before it could.
const tempPrefix = "wam-pgtest-"

// cluster is the server of this test binary. testing.M gives Main no way to
// hand it to New but a package variable; it is set once before m.Run.
var cluster *server

type server struct {
	adminURL string // the maintenance database; New copies template from here
	template string
	admin    *pgxpool.Pool
}

// Main prepares the database server for a test package, runs its tests and
// exits with their status. Call it from TestMain. When no PostgreSQL is
// available it says how to provide one and exits with status 1: tests that
// need the database fail rather than skip.
func Main(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (code int, err error) {
	ctx := context.Background()
	adminURL := os.Getenv(EnvURL)
	if adminURL == "" {
		srv, dir, err := startPrivate(ctx)
		if errors.Is(err, pgserver.ErrNotInstalled) {
			return 0, fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found and %s is not set: %s", EnvURL, howToProvide)
		}
		if err != nil {
			return 0, fmt.Errorf("start a private PostgreSQL server: %w\n%s", err, howToProvide)
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if serr := srv.Stop(stopCtx); serr != nil {
				fmt.Fprintf(os.Stderr, "pgtest: %v\n", serr)
				return // leave the directory: a running server still uses it
			}
			os.RemoveAll(dir)
		}()
		adminURL = srv.URL("postgres")
	}

	c, err := prepare(ctx, adminURL)
	if err != nil {
		return 0, err
	}
	defer c.close()
	cluster = c
	return m.Run(), nil
}

// startPrivate starts a server in a new directory under os.TempDir().
func startPrivate(ctx context.Context) (*pgserver.Server, string, error) {
	sweep(ctx)
	dir, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	srv, err := pgserver.Start(ctx, filepath.Join(dir, "data"), pgserver.Options{NoSync: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return srv, dir, nil
}

// sweep removes the private servers of earlier test binaries that died
// without stopping theirs (a panic, a -timeout, a ^C), which would otherwise
// keep running. Directories whose test binary still runs are left alone.
func sweep(ctx context.Context) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue // being created right now, or not ours
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || alive(owner) {
			continue
		}
		dataDir := filepath.Join(dir, "data")
		if pid, ok := postmasterOf(dataDir); ok {
			// Immediate shutdown: the data is about to be deleted anyway.
			syscall.Kill(pid, syscall.SIGQUIT)
			for i := 0; i < 100 && alive(pid) && ctx.Err() == nil; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			if alive(pid) {
				continue
			}
		}
		os.RemoveAll(dir)
	}
}

// postmasterOf returns the pid of the server running in dataDir, checking
// its command line so that a reused pid never gets signalled.
func postmasterOf(dataDir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || !alive(pid) {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), dataDir) {
		return 0, false
	}
	return pid, true
}

// alive reports whether process pid exists and is not a zombie (dead, not
// yet reaped: in containers whose init is slow to reap, a killed test
// binary stays one for a while).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: trust kill
	}
	i := bytes.LastIndexByte(b, ')') // the state follows "pid (comm) "
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// prepare connects to the server and creates the migrated template.
func prepare(ctx context.Context, adminURL string) (*server, error) {
	admin, err := pgxpool.New(ctx, adminURL)
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		return nil, fmt.Errorf("connect to PostgreSQL: %w\n%s", err, howToProvide)
	}
	c := &server{adminURL: adminURL, template: uniqueName("wam_template"), admin: admin}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(c.template)); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create template database: %w", err)
	}
	if err := c.migrate(ctx); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *server) migrate(ctx context.Context) error {
	pool, err := pgxpool.New(ctx, c.url(c.template))
	if err != nil {
		return fmt.Errorf("connect to template database: %w", err)
	}
	// Closed before any copy: CREATE DATABASE … TEMPLATE refuses a template
	// that has open connections.
	defer pool.Close()
	if err := migrations.Up(ctx, pool); err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	return nil
}

func (c *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Matters on a shared server (WAM_TEST_DATABASE_URL); a private one is
	// deleted whole.
	if _, err := c.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(c.template)+" WITH (FORCE)"); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: drop template database: %v\n", err)
	}
	c.admin.Close()
}

// url returns the admin URL with its database replaced by dbname.
func (c *server) url(dbname string) string {
	if u, err := url.Parse(c.adminURL); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path, u.RawPath = "/"+dbname, ""
		return u.String()
	}
	// A key=value connection string: a later key wins.
	return c.adminURL + " dbname=" + dbname
}

// New returns a pool connected to a new database with the migrations
// applied, which only this test uses. The pool is closed and the database
// dropped when the test ends.
func New(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dbURL := URL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		tb.Fatalf("pgtest: connect to test database: %v", err)
	}
	tb.Cleanup(pool.Close) // runs before URL's cleanup drops the database
	return pool
}

// URL creates a new database like New does and returns its connection URL,
// for code under test that connects by itself (a `wam serve` in another
// process, for example). The database is dropped when the test ends, even
// if connections to it remain.
func URL(tb testing.TB) string {
	tb.Helper()
	if cluster == nil {
		tb.Fatal("pgtest: no database server: call pgtest.Main(m) from this package's TestMain")
	}
	c := cluster
	name := uniqueName("wam_test")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(c.template)); err != nil {
		tb.Fatalf("pgtest: create test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop test database %s: %v", name, err)
		}
	})
	return c.url(name)
}

// uniqueName returns prefix_<random>: names must not collide between
// packages whose tests share one server.
func uniqueName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
