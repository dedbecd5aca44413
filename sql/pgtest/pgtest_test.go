package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/sql/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestMigrated(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t)
	for _, table := range []string{"tenants", "messages"} {
		var exists bool
		if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", "public."+table).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			t.Errorf("table %s missing: migrations not applied", table)
		}
	}
}

func TestIsolated(t *testing.T) {
	t.Parallel()
	a, b := pgtest.New(t), pgtest.New(t)
	if _, err := a.Exec(t.Context(), "INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'acme')"); err != nil {
		t.Fatal(err)
	}
	count := func(db interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) int {
		t.Helper()
		var n int
		if err := db.QueryRow(t.Context(), "SELECT count(*) FROM tenants").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(a); got != 1 {
		t.Errorf("database a has %d tenants, want 1", got)
	}
	if got := count(b); got != 0 {
		t.Errorf("database b has %d tenants, want 0: databases are not isolated", got)
	}
}

// URL's database is dropped at cleanup even while a connection to it is open,
// as happens when a test's `wam serve` subprocess outlives it.
func TestURL(t *testing.T) {
	t.Parallel()
	var conn *pgx.Conn
	t.Run("open", func(t *testing.T) {
		var err error
		conn, err = pgx.Connect(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM messages").Scan(&n); err != nil {
			t.Fatal(err)
		}
	})
	if conn == nil {
		return
	}
	if err := conn.Ping(context.Background()); err == nil {
		t.Error("connection to the test database still works after its test ended")
	}
	conn.Close(context.Background())
}

// BenchmarkURL measures what a test pays for its own database. The
// databases are dropped when the benchmark ends, so keep -benchtime modest.
func BenchmarkURL(b *testing.B) {
	for b.Loop() {
		pgtest.URL(b)
	}
}
