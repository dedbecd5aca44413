// Package pgserver runs a private PostgreSQL server from the machine's own
// binaries: for `wam serve` when no DATABASE_URL is configured, and for tests.
//
// The server listens only on a unix socket that nobody but its own OS user
// (and root) can reach, so it uses trust authentication. It is started with
// pg_ctl and therefore outlives a wam process that is killed; the next Start
// on the same data directory adopts it instead of failing.
package pgserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wam-project/wam/sql/dberr"
	"github.com/wam-project/wam/supervisor"
)

// ErrNotInstalled is returned by Find and Start when the machine has no
// PostgreSQL server binaries.
var ErrNotInstalled = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: " +
	"install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL to an existing database")

const (
	defaultPort = 5432
	// socketName is the name postgres gives its socket for defaultPort.
	socketName = ".s.PGSQL.5432"
	// maxSocketPath is the longest socket path Linux accepts:
	// sizeof(sockaddr_un.sun_path) minus the terminating NUL.
	maxSocketPath = 107
	// confName is the settings file wam rewrites at every start; the
	// cluster's postgresql.conf includes it.
	confName = "wam.conf"
	// startupLog receives what the server prints before its logging
	// collector takes over (configuration errors, for example).
	startupLog = "startup.log"
	// superuser is the role initdb creates and every connection uses.
	superuser = "postgres"
	// tempSocketPrefix names the socket directories made under os.TempDir()
	// for data directories whose path is too long for a socket.
	tempSocketPrefix = "wampg-"

	pgCtlTimeout = 60 * time.Second
	readyTimeout = 15 * time.Second
)

// Options adjust how Start runs the server.
type Options struct {
	// NoSync turns off fsync, synchronous commit and full-page writes, and
	// initdb's final sync. Much faster, but a crash of the machine can lose or
	// corrupt data: for tests only.
	NoSync bool
	// Logger receives start-up and shutdown messages; nil discards them.
	Logger *slog.Logger
}

// Server is a running PostgreSQL server, started or adopted by Start.
type Server struct {
	binDir    string
	dataDir   string
	socketDir string
	port      int
	runAs     *osUser // nil: the server runs as this process's user
	adopted   bool
	logger    *slog.Logger
}

// osUser is the account the server runs as when wam runs as root.
type osUser struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
}

// Find locates a directory holding initdb, pg_ctl and postgres: the one
// initdb is found in through $PATH (symlinks resolved) first, then the newest
// /usr/lib/postgresql/<version>/bin, where Debian and Ubuntu install them.
func Find() (binDir string, err error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates := []string{filepath.Dir(p)}
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append([]string{filepath.Dir(resolved)}, candidates...)
		}
		for _, dir := range candidates {
			if hasServerBinaries(dir) {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		// Newest first: compare "9.6" < "10" < "15" numerically.
		return slices.Compare(versionKey(filepath.Base(filepath.Dir(b))), versionKey(filepath.Base(filepath.Dir(a))))
	})
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", ErrNotInstalled
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

func versionKey(v string) []int {
	var key []int
	for _, part := range strings.Split(v, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			n = -1
		}
		key = append(key, n)
	}
	return key
}

// Start runs a PostgreSQL server whose data lives in dir, creating the data
// directory with initdb on first use, and returns once it accepts
// connections. If a server from an earlier run is still running in dir (its
// wam process was killed, say), Start adopts it.
//
// When the process runs as root, the server runs as the OS user postgres
// (created with useradd if missing), because PostgreSQL refuses to run as
// root; dir is then chowned to that user, and every directory above it must
// let that user pass (temporary directories are made to, see makeReachable).
func Start(ctx context.Context, dir string, opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("postgres data directory: %w", err)
	}
	binDir, err := Find()
	if err != nil {
		return nil, err
	}
	runAs, err := serverUser(logger)
	if err != nil {
		return nil, err
	}
	s := &Server{binDir: binDir, dataDir: dir, socketDir: dir, port: defaultPort, runAs: runAs, logger: logger}
	if err := s.prepareDataDir(); err != nil {
		return nil, err
	}

	adopted, err := s.adopt(ctx)
	if err != nil {
		return nil, err
	}
	if adopted {
		s.adopted = true
		return s, nil
	}

	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := s.initdb(ctx, opts.NoSync); err != nil {
			return nil, err
		}
	}
	if err := s.chooseSocketDir(); err != nil {
		return nil, err
	}
	if err := s.writeConfig(opts.NoSync); err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		s.removeTempSocketDir()
		return nil, err
	}
	return s, nil
}

// serverUser returns the account the server must run as: nil (ourselves)
// unless we are root, in which case the postgres user, created if missing.
func serverUser(logger *slog.Logger) (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(superuser)
	if errors.As(err, new(user.UnknownUserError)) {
		logger.Info("creating system user for PostgreSQL, which refuses to run as root", "user", superuser)
		out, uerr := exec.Command("useradd", "--system", "--user-group",
			"--home-dir", "/var/lib/postgresql", "--no-create-home",
			"--shell", "/usr/sbin/nologin", "--comment", "PostgreSQL administrator", superuser).CombinedOutput()
		// Another process may have created it meanwhile: look again before failing.
		u, err = user.Lookup(superuser)
		if err != nil {
			return nil, fmt.Errorf("running as root: PostgreSQL refuses to run as root and there is no %q user to run it as; "+
				"creating one failed (%v: %s): create it (useradd --system %s) or run wam as an ordinary user",
				superuser, uerr, bytes.TrimSpace(out), superuser)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", superuser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %q: %w", superuser, err)
	}
	runAs := &osUser{name: u.Username, uid: uint32(uid), gid: uint32(gid)}
	gids, err := u.GroupIds()
	if err != nil {
		gids = []string{u.Gid}
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			runAs.groups = append(runAs.groups, uint32(n))
		}
	}
	return runAs, nil
}

// prepareDataDir creates the data directory, gives it to the server's user
// and checks that user can reach it.
func (s *Server) prepareDataDir() error {
	if err := os.MkdirAll(filepath.Dir(s.dataDir), 0o755); err != nil {
		return fmt.Errorf("create postgres data directory: %w", err)
	}
	if err := os.Mkdir(s.dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create postgres data directory: %w", err)
	}
	fi, err := os.Stat(s.dataDir)
	if err != nil {
		return fmt.Errorf("postgres data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("postgres data directory %s is not a directory", s.dataDir)
	}
	// The server refuses a data directory others may read (0700 or 0750 only).
	if fi.Mode().Perm()&0o027 != 0 {
		if err := os.Chmod(s.dataDir, 0o700); err != nil {
			return fmt.Errorf("postgres data directory: %w", err)
		}
	}
	if s.runAs == nil {
		return nil
	}
	if err := chownTree(s.dataDir, s.runAs); err != nil {
		return fmt.Errorf("give postgres data directory to user %s: %w", s.runAs.name, err)
	}
	return s.runAs.makeReachable(s.dataDir, s.logger)
}

// chownTree gives dir and everything in it to u, touching only what u does
// not own already (a restart then costs one stat per file).
func chownTree(dir string, u *osUser) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == u.uid && st.Gid == u.gid {
			return nil
		}
		return os.Lchown(path, int(u.uid), int(u.gid))
	})
}

// makeReachable ensures u may pass through every directory above dir.
// Temporary directories of ours that stand in the way (os.MkdirTemp and
// t.TempDir make them 0700) are opened for passing through only (o+x; their
// names are random, and listing stays closed). Any other is reported as an
// error saying what to do, rather than loosening, say, /root.
func (u *osUser) makeReachable(dir string, logger *slog.Logger) error {
	tmp := filepath.Clean(os.TempDir())
	for a := filepath.Dir(dir); ; a = filepath.Dir(a) {
		fi, err := os.Stat(a)
		if err != nil {
			return err
		}
		if !u.maySearch(fi) {
			st, ok := fi.Sys().(*syscall.Stat_t)
			ours := ok && int(st.Uid) == os.Geteuid()
			if rel, err := filepath.Rel(tmp, a); ours && err == nil && rel != "." && filepath.IsLocal(rel) {
				logger.Info("letting PostgreSQL's user pass through a temporary directory", "dir", a, "user", u.name)
				if err := os.Chmod(a, fi.Mode().Perm()|0o001); err != nil {
					return err
				}
			} else {
				return fmt.Errorf("PostgreSQL runs as user %s (it refuses to run as root), which cannot enter %s (mode %#o): "+
					"let it pass (chmod o+x %s) or keep the data directory elsewhere", u.name, a, fi.Mode().Perm(), a)
			}
		}
		if a == filepath.Dir(a) {
			return nil
		}
	}
}

func (u *osUser) maySearch(fi fs.FileInfo) bool {
	perm := fi.Mode().Perm()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true // cannot tell; let the server report it
	}
	switch {
	case st.Uid == u.uid:
		return perm&0o100 != 0
	case st.Gid == u.gid || slices.Contains(u.groups, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// adopt connects to a server already running in the data directory, if any.
// A pid file whose process is gone is left for the server to clear.
func (s *Server) adopt(ctx context.Context) (bool, error) {
	deadline := time.Now().Add(readyTimeout)
	for {
		pf, err := readPidFile(s.dataDir)
		if err != nil {
			return false, nil
		}
		var waitErr error
		switch processState(pf.pid) {
		case processGone:
			return false, nil
		case processZombie:
			// Dead but not yet reaped; postgres would still take its pid file
			// for a live server, so wait for the reaping.
			waitErr = fmt.Errorf("the PostgreSQL server that ran in %s (pid %d) has exited but its parent has not reaped it; "+
				"in a container, run with an init process (docker run --init)", s.dataDir, pf.pid)
		case processAlive:
			probe := *s
			probe.socketDir, probe.port = pf.socketDir, pf.port
			dataDir, err := probe.dataDirectory(ctx)
			if err == nil {
				if !sameDir(dataDir, s.dataDir) {
					return false, fmt.Errorf("the PostgreSQL server at %s serves %s, not %s", pf.socketDir, dataDir, s.dataDir)
				}
				s.socketDir, s.port = pf.socketDir, pf.port
				s.logger.Info("adopted PostgreSQL server left running by an earlier run",
					"pid", pf.pid, "data_dir", s.dataDir, "socket_dir", s.socketDir)
				return true, nil
			}
			// Still starting, or shutting down: wait until it answers or exits.
			waitErr = fmt.Errorf("a PostgreSQL server (pid %d) is running in %s but does not accept connections (%v); "+
				"stop it (pg_ctl stop -D %s) and try again", pf.pid, s.dataDir, err, s.dataDir)
		}
		if time.Now().After(deadline) {
			return false, waitErr
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type pidFile struct {
	pid       int
	port      int
	socketDir string
}

// readPidFile reads postmaster.pid, whose lines are: pid, data directory,
// start time, port, first socket directory, listen address, shared memory
// key, status.
func readPidFile(dataDir string) (pidFile, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return pidFile{}, err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 {
		return pidFile{}, errors.New("postmaster.pid is incomplete")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return pidFile{}, fmt.Errorf("postmaster.pid: bad pid %q", lines[0])
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		port = defaultPort
	}
	return pidFile{pid: pid, port: port, socketDir: strings.TrimSpace(lines[4])}, nil
}

type procState int

const (
	processGone procState = iota
	processAlive
	processZombie
)

func processState(pid int) procState {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return processGone
	}
	// kill(pid, 0) succeeds for zombies too; on Linux /proc tells them apart.
	// The state follows the parenthesised command name: "pid (comm) S ...".
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return processAlive
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'Z' {
		return processZombie
	}
	return processAlive
}

func sameDir(a, b string) bool {
	if ra, err := filepath.EvalSymlinks(a); err == nil {
		a = ra
	}
	if rb, err := filepath.EvalSymlinks(b); err == nil {
		b = rb
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

func (s *Server) initdb(ctx context.Context, noSync bool) error {
	s.logger.Info("creating PostgreSQL data directory", "data_dir", s.dataDir, "bin_dir", s.binDir)
	var errs []error
	// C.UTF-8 gives Unicode-aware lower()/upper() with byte-order sorting on
	// any glibc >= 2.35 (Debian 12); plain C is the fallback that always exists.
	for _, locale := range []string{"C.UTF-8", "C"} {
		args := []string{"-D", s.dataDir, "-U", superuser, "--auth=trust", "--encoding=UTF8", "--locale=" + locale}
		if noSync {
			args = append(args, "--no-sync")
		}
		out, err := s.command(ctx, "initdb", args...).CombinedOutput()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%w: %s", err, lastLines(out, 10)))
		if !bytes.Contains(out, []byte("locale")) {
			break
		}
	}
	return fmt.Errorf("initdb %s: %w", s.dataDir, errors.Join(errs...))
}

// chooseSocketDir puts the socket in the data directory, or, when that path
// is too long for a unix socket (maxSocketPath), in a new short directory
// under os.TempDir() that Stop removes. A later run finds it again through
// postmaster.pid.
func (s *Server) chooseSocketDir() error {
	s.socketDir, s.port = s.dataDir, defaultPort
	if len(filepath.Join(s.dataDir, socketName)) <= maxSocketPath {
		return nil
	}
	base := os.TempDir()
	if len(base) > 60 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, tempSocketPrefix)
	if err != nil {
		return fmt.Errorf("postgres socket directory: %w", err)
	}
	if s.runAs != nil {
		if err := os.Chown(dir, int(s.runAs.uid), int(s.runAs.gid)); err != nil {
			os.Remove(dir)
			return fmt.Errorf("postgres socket directory: %w", err)
		}
	}
	s.socketDir = dir
	return nil
}

// writeConfig writes wam.conf, included from postgresql.conf. Settings made
// with ALTER SYSTEM (postgresql.auto.conf) still take precedence over it.
func (s *Server) writeConfig(noSync bool) error {
	var b strings.Builder
	b.WriteString("# Written by wam at every start of its private PostgreSQL server; edits here are lost.\n")
	b.WriteString("# Use ALTER SYSTEM (postgresql.auto.conf) for lasting changes.\n")
	set := func(name, value string) { fmt.Fprintf(&b, "%s = %s\n", name, value) }
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	// No TCP at all: the socket lives in a directory only the server's user
	// (and root) can enter, which is what makes trust authentication safe.
	set("listen_addresses", "''")
	set("unix_socket_directories", quote(s.socketDir))
	set("unix_socket_permissions", "0700")
	set("port", strconv.Itoa(s.port))
	set("max_connections", "100")
	set("shared_buffers", "128MB")
	set("logging_collector", "on")
	set("log_directory", "'log'")
	set("log_filename", "'postgresql-%a.log'") // a week of logs, one file a day
	set("log_rotation_age", "1d")
	set("log_rotation_size", "0")
	set("log_truncate_on_rotation", "on")
	if noSync {
		set("fsync", "off")
		set("synchronous_commit", "off")
		set("full_page_writes", "off")
	}
	if err := s.writeOwned(confName, []byte(b.String())); err != nil {
		return err
	}

	// Point postgresql.conf at it, once.
	const include = "include_if_exists = '" + confName + "'"
	mainConf := filepath.Join(s.dataDir, "postgresql.conf")
	cur, err := os.ReadFile(mainConf)
	if err != nil {
		return fmt.Errorf("postgres config: %w", err)
	}
	if bytes.Contains(cur, []byte("\n"+include+"\n")) {
		return nil
	}
	f, err := os.OpenFile(mainConf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("postgres config: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Settings for wam's private server, rewritten at every start.\n%s\n", include)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("postgres config: %w", err)
	}
	return nil
}

// writeOwned writes a file in the data directory owned by the server's user.
func (s *Server) writeOwned(name string, data []byte) error {
	path := filepath.Join(s.dataDir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if s.runAs != nil {
		if err := os.Chown(path, int(s.runAs.uid), int(s.runAs.gid)); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

func (s *Server) start(ctx context.Context) error {
	began := time.Now()
	logPath := filepath.Join(s.dataDir, startupLog)
	// Emptied first, so that a failure shows this start's messages only.
	if err := s.writeOwned(startupLog, nil); err != nil {
		return err
	}
	// -w waits until postmaster.pid says the server is ready. pg_ctl starts it
	// in its own session with output to the log file, so it outlives us.
	out, err := s.command(ctx, "pg_ctl", "start", "-D", s.dataDir, "-l", logPath,
		"-w", "-t", strconv.Itoa(int(pgCtlTimeout/time.Second)), "-s").CombinedOutput()
	if err != nil {
		logTail, _ := os.ReadFile(logPath)
		return fmt.Errorf("start PostgreSQL in %s: %w: %s\nserver log %s (later messages in %s):\n%s", s.dataDir, err,
			bytes.TrimSpace(out), logPath, filepath.Join(s.dataDir, "log"), lastLines(logTail, 15))
	}
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	s.logger.Info("started PostgreSQL", "data_dir", s.dataDir, "socket_dir", s.socketDir,
		"bin_dir", s.binDir, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		_, err := s.dataDirectory(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("PostgreSQL in %s does not accept connections: %w", s.dataDir, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dataDirectory connects and asks the server which data directory it serves.
func (s *Server) dataDirectory(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	res := conn.ExecParams(ctx, "SHOW data_directory", nil, nil, nil, nil).Read()
	if res.Err != nil {
		return "", res.Err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return "", errors.New("SHOW data_directory: unexpected result")
	}
	return string(res.Rows[0][0]), nil
}

// URL returns a connection URL for database dbname on the server, for pgx
// (pgxpool.New, pgx.Connect) or any libpq-style client.
func (s *Server) URL(dbname string) string {
	u := url.URL{Scheme: "postgres", User: url.User(superuser), Path: "/" + dbname}
	u.RawQuery = "host=" + queryEscape(s.socketDir) + "&sslmode=disable"
	if s.port != defaultPort {
		u.RawQuery += "&port=" + strconv.Itoa(s.port)
	}
	return u.String()
}

// queryEscape escapes v for a libpq-style URL query, which decodes %XX but
// not "+". Slashes stay as they are, to keep socket paths readable.
func queryEscape(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// EnsureDatabase creates database name unless it exists.
func (s *Server) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("ensure database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("ensure database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if dberr.Is(err, pgerrcode.DuplicateDatabase) { // created meanwhile
		err = nil
	}
	if err != nil {
		return fmt.Errorf("ensure database %s: %w", name, err)
	}
	s.logger.Info("created database", "database", name)
	return nil
}

// Adopted reports whether Start found the server already running rather
// than starting it: another wam process (a running serve) may be using it.
func (s *Server) Adopted() bool { return s.adopted }

// Stop shuts the server down (fast mode: open transactions are rolled back)
// and waits until it has exited. Stopping a server that is not running is not
// an error. Pass a context that is still live: a cancelled one kills pg_ctl
// before it can stop anything.
func (s *Server) Stop(ctx context.Context) error {
	defer s.removeTempSocketDir()
	if _, err := os.Stat(filepath.Join(s.dataDir, "postmaster.pid")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	out, err := s.command(ctx, "pg_ctl", "stop", "-D", s.dataDir, "-m", "fast",
		"-w", "-t", strconv.Itoa(int(pgCtlTimeout/time.Second)), "-s").CombinedOutput()
	if err != nil {
		if _, serr := os.Stat(filepath.Join(s.dataDir, "postmaster.pid")); errors.Is(serr, fs.ErrNotExist) {
			return nil // it stopped by itself meanwhile
		}
		return fmt.Errorf("stop PostgreSQL in %s: %w: %s", s.dataDir, err, bytes.TrimSpace(out))
	}
	s.logger.Info("stopped PostgreSQL", "data_dir", s.dataDir)
	return nil
}

// Supervise starts the server again whenever it is found not running: its
// postmaster died (kill -9, the OOM killer) or someone stopped it. It looks
// at postmaster.pid and the process it names every opts.Interval, which
// costs no connection. Attempts and their outcomes go to opts.Logger, or to
// the Server's logger. Stop the supervisor before calling Stop.
//
// The server keeps its socket, port and settings (wam.conf is not
// rewritten), so the URLs handed out stay valid; pgx discards the broken
// connections of a pool by itself.
func (s *Server) Supervise(ctx context.Context, opts supervisor.Options) *supervisor.Supervisor {
	if opts.Logger == nil {
		opts.Logger = s.logger
	}
	opts.Logger = opts.Logger.With("data_dir", s.dataDir)
	return supervisor.Start(ctx, supervisor.Service{Name: "private PostgreSQL", Check: s.running, Start: s.restart}, opts)
}

// running reports why the server is not running, or nil when the process
// postmaster.pid names is alive. After a kill -9 the pid file stays behind
// (the next start clears it); a clean stop removes it.
func (s *Server) running() error {
	b, err := os.ReadFile(filepath.Join(s.dataDir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("postmaster.pid is gone: the server was stopped")
	}
	if err != nil {
		return err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return fmt.Errorf("postmaster.pid: bad pid %q", line)
	}
	switch processState(pid) {
	case processGone:
		return fmt.Errorf("its postmaster (pid %d) has exited", pid)
	case processZombie:
		return fmt.Errorf("its postmaster (pid %d) has exited (not reaped yet)", pid)
	}
	return nil
}

// restart starts the server as it ran before. A socket directory of ours
// under os.TempDir() is made again if something cleared it away.
func (s *Server) restart(ctx context.Context) error {
	if s.ownsSocketDir() {
		err := os.Mkdir(s.socketDir, 0o700)
		if err == nil && s.runAs != nil {
			err = os.Chown(s.socketDir, int(s.runAs.uid), int(s.runAs.gid))
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("postgres socket directory: %w", err)
		}
	}
	return s.start(ctx)
}

// removeTempSocketDir removes a socket directory made by chooseSocketDir,
// here or in an earlier run. os.Remove leaves it alone unless it is empty,
// which it is once the server has stopped.
func (s *Server) removeTempSocketDir() {
	if s.ownsSocketDir() {
		os.Remove(s.socketDir)
	}
}

// ownsSocketDir reports whether the socket lives in a directory made by
// chooseSocketDir.
func (s *Server) ownsSocketDir() bool {
	return s.socketDir != s.dataDir && strings.HasPrefix(filepath.Base(s.socketDir), tempSocketPrefix)
}

// command prepares a PostgreSQL program to run as the server's user, without
// the PG* variables of our environment (PGPORT, for one, would move the
// socket).
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, name), args...)
	cmd.Dir = s.dataDir // our own working directory may be closed to the server's user
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if s.runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
			Uid: s.runAs.uid, Gid: s.runAs.gid, Groups: s.runAs.groups,
		}}
	}
	return cmd
}

// lastLines returns the last n lines of b, for error messages.
func lastLines(b []byte, n int) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
