package api_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TestRowLevelSecurity: as the role requests run under, a transaction sees
// only the rows of the tenant it entered, cannot write another tenant's
// rows, and sees nothing at all when it entered none.
func TestRowLevelSecurity(t *testing.T) {
	e := newEnv(t)
	a := e.mustTenant("100", "111")
	b := e.mustTenant("200", "222")
	for _, body := range [][]byte{
		textWebhook("100", "111", "wamid.a", "16505551234", "for a"),
		textWebhook("200", "222", "wamid.b", "16505551234", "for b"),
	} {
		if rec := e.post(body, sign(body)); rec.Code != 200 {
			t.Fatal(rec.Code)
		}
	}
	e.project(t)

	tables := []string{"tenants", "api_keys", "phone_numbers", "contacts", "conversations", "messages", "webhook_log"}
	count := func(tx pgx.Tx, table string) int {
		t.Helper()
		var n int
		if err := tx.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		return n
	}
	as := func(tenant string, fn func(tx pgx.Tx)) {
		t.Helper()
		ctx := context.Background()
		tx, err := e.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE wam_tenant"); err != nil {
			t.Fatal(err)
		}
		if tenant != "" {
			if _, err := tx.Exec(ctx, "SELECT set_config('wam.tenant_id', $1, true)", tenant); err != nil {
				t.Fatal(err)
			}
		}
		fn(tx)
	}

	as("", func(tx pgx.Tx) {
		for _, table := range tables {
			if n := count(tx, table); n != 0 {
				t.Errorf("no tenant set: %d rows of %s visible, want 0", n, table)
			}
		}
	})
	as(a.ID.String(), func(tx pgx.Tx) {
		for _, table := range tables {
			if n := count(tx, table); n != 1 {
				t.Errorf("tenant a: %d rows of %s visible, want its 1", n, table)
			}
		}
		var tenant uuid.UUID
		if err := tx.QueryRow(context.Background(), "SELECT tenant_id FROM messages").Scan(&tenant); err != nil || tenant != a.ID {
			t.Errorf("tenant a sees a message of %s (%v)", tenant, err)
		}
		_, err := tx.Exec(context.Background(),
			"INSERT INTO phone_numbers (id, tenant_id, phone_number_id, display_phone_number) VALUES ($1, $2, '999', '+15550009999')",
			uuid.New(), b.ID)
		if err == nil {
			t.Error("tenant a wrote a phone number for tenant b")
		}
	})
}
