package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/sql/pgtest"
)

// TestRebuildAndEraseCommands: `wam rebuild` and `wam erase` run against
// the data dir of a serve that stopped, and serve, started again, answers
// from what they made.
func TestRebuildAndEraseCommands(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "WAM_DATA_DIR": t.TempDir(), "META_APP_SECRET": testSecret}
	tenant, key := bootstrap(t, env, "333")
	base, stop := startServe(t, env)
	for _, w := range []struct{ wamid, from, text string }{
		{"wamid.cli-1", "15550001001", "first of the erased"},
		{"wamid.cli-2", "15550001002", "kept"},
		{"wamid.cli-3", "15550001001", "second of the erased"},
	} {
		if code, err := postWebhook(base, textWebhook("333", w.wamid, w.from, w.text)); err != nil || code != http.StatusOK {
			t.Fatalf("webhook: %d %v", code, err)
		}
	}
	await.Until(t, 30*time.Second, "three messages in the inbox", func() bool {
		_, msgs := inbox(t, base, key)
		return len(msgs) == 3
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var job struct {
		State      string `json:"state"`
		EventsDone int    `json:"events_done"`
	}
	if err := json.Unmarshal([]byte(lastLine(mustRun(t, env, "rebuild", "--projector", "inbox"))), &job); err != nil || job.State != "done" || job.EventsDone != 3 {
		t.Fatalf("rebuild: %+v (%v)", job, err)
	}
	if err := json.Unmarshal([]byte(lastLine(mustRun(t, env, "rebuild", "--tenant", tenant))), &job); err != nil || job.State != "done" || job.EventsDone != 3 {
		t.Fatalf("rebuild of the tenant: %+v (%v)", job, err)
	}
	var erased struct {
		EventsDeleted int `json:"events_deleted"`
	}
	if err := json.Unmarshal([]byte(lastLine(mustRun(t, env, "erase", "--tenant", tenant, "--phone", "+1 555-000-1001"))), &erased); err != nil || erased.EventsDeleted != 2 {
		t.Fatalf("erase: %+v (%v)", erased, err)
	}
	if err := run(t.Context(), []string{"wam", "erase", "--tenant", tenant, "--phone", "+15550001001"}, getenvFrom(env), &strings.Builder{}, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "contact not found") {
		t.Errorf("erasing again: %v", err)
	}

	base, _ = startServe(t, env)
	convs, msgs := inbox(t, base, key)
	if len(convs) != 1 || convs[0].Contact.Phone != "+15550001002" || len(msgs) != 1 {
		t.Errorf("after the erasure: %+v, %+v", convs, msgs)
	}
}
