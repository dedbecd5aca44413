package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wam-project/wam/sql/pgtest"
)

// TestReplayAndOperator: webhooks are stored by serve; with serve stopped
// `wam replay` counts them (--dry-run) and re-projects them with a progress
// bar; `wam operator create` makes an operator, who signs in to the next
// serve and finds the job, finished, at /api/ops/replays, and the inbox as
// it was.
func TestReplayAndOperator(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "WAM_DATA_DIR": t.TempDir(), "META_APP_SECRET": testSecret}
	_, apiKey := bootstrap(t, env, "1001")
	base, stop := startServe(t, env)
	for _, w := range []string{"wamid.R1", "wamid.R2", "wamid.R3"} {
		if code, err := postWebhook(base, textWebhook("1001", w, "4915111111111", "hi "+w)); err != nil || code != http.StatusOK {
			t.Fatalf("webhook: %d %v", code, err)
		}
	}
	waitProjectedOnce(t, base, apiKey, []string{"wamid.R1", "wamid.R2", "wamid.R3"}, 30*time.Second)
	_, before := inbox(t, base, apiKey)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, env, "replay", "--dry-run", "--kind", "messages")
	if lastLine(out) != `{"dry_run":true,"matched":3}` {
		t.Fatalf("dry run printed %q", out)
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"wam", "replay", "--kind", "messages"}, getenvFrom(env), &stdout, &stderr); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	var job struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Matched int    `json:"matched"`
		Done    int    `json:"done"`
	}
	if err := json.Unmarshal([]byte(lastLine(stdout.String())), &job); err != nil || job.State != "finished" || job.Done != 3 {
		t.Fatalf("replay printed %q (%v)", stdout.String(), err)
	}
	if !strings.Contains(stderr.String(), "3/3 100%") {
		t.Errorf("no progress bar: %q", stderr.String())
	}

	var op struct {
		Email, Password string
	}
	out = mustRun(t, env, "operator", "create", "--email", "Ops@Example.com")
	if err := json.Unmarshal([]byte(lastLine(out)), &struct {
		Email    *string `json:"email"`
		Password *string `json:"temporary_password"`
	}{&op.Email, &op.Password}); err != nil || op.Email != "ops@example.com" || len(op.Password) < 20 {
		t.Fatalf("operator create printed %q (%v)", out, err)
	}
	base, _ = startServe(t, env)
	body, _ := json.Marshal(map[string]string{"email": op.Email, "password": op.Password})
	res, err := http.Post(base+"/api/ops/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(data, &sess); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("operator sign-in: %d %s", res.StatusCode, data)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/ops/replays/"+job.ID, nil)
	req.Header.Set("Authorization", "Bearer "+sess.AccessToken)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(data), `"state":"finished"`) || !strings.Contains(string(data), `"done":3`) {
		t.Fatalf("the job at /api/ops/replays: %d %s", res.StatusCode, data)
	}
	_, after := inbox(t, base, apiKey)
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if !bytes.Equal(b1, b2) {
		t.Errorf("the inbox changed:\n%s\n%s", b1, b2)
	}
}
