package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wam-project/wam/sql/pgtest"
)

// TestNumberAddOneTenantPerWABA: the operator's `wam number add` is trusted
// with the WABA id, but a WABA another tenant has numbers in is refused,
// since its WABA-level webhooks can only go to one tenant.
func TestNumberAddOneTenantPerWABA(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "WAM_DATA_DIR": t.TempDir()}
	a, _ := bootstrap(t, env, "111") // WABA 100111
	var b struct {
		TenantID string `json:"tenant_id"`
	}
	if err := json.Unmarshal([]byte(lastLine(mustRun(t, env, "tenant", "create", "--name", "Other"))), &b); err != nil {
		t.Fatal(err)
	}
	add := func(tenant, pnid string) error {
		var out, errOut bytes.Buffer
		return run(context.Background(), []string{"wam", "number", "add", "--tenant", tenant, "--phone-number-id", pnid,
			"--display-phone-number", "+1 555-000-2222", "--waba-id", "100111"}, getenvFrom(env), &out, &errOut)
	}
	if err := add(b.TenantID, "222"); err == nil || !strings.Contains(err.Error(), "100111 belongs to another tenant") {
		t.Errorf("another tenant's WABA: %v", err)
	}
	if err := add(a, "112"); err != nil {
		t.Errorf("a second number in the tenant's own WABA: %v", err)
	}
}
