package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/internal/await"
	"github.com/wam-project/wam/ops"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// operator makes an operator as `wam operator create` does and signs in.
func (e *env) operator(t *testing.T, email string) string {
	t.Helper()
	_, password, err := e.ops.CreateOperator(context.Background(), email, "Ops")
	if err != nil {
		t.Fatal(err)
	}
	rec := e.send(http.MethodPost, "/api/ops/auth/login", "", map[string]string{"email": email, "password": password})
	var s struct {
		AccessToken string `json:"access_token"`
		Operator    struct{ Role string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || rec.Code != http.StatusOK || s.Operator.Role != "operator" {
		t.Fatalf("operator sign-in: %d %s", rec.Code, rec.Body)
	}
	return s.AccessToken
}

func textBody(pnid, wamid, text string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},
"contacts":[{"profile":{"name":"C"},"wa_id":"4915111111111"}],
"messages":[{"from":"4915111111111","id":%q,"timestamp":"1700000000","type":"text","text":{"body":%q}}]}}]}]}`, pnid, wamid, text)
}

type webhookPage struct {
	Data []struct {
		Seq      int64      `json:"seq"`
		TenantID *uuid.UUID `json:"tenant_id"`
		Kinds    []string   `json:"kinds"`
	} `json:"data"`
}

// TestOperatorsAndTenantsHistory: a tenant owner sees only the tenant's
// webhook history and cannot reach /api/ops; an agent cannot replay; an
// operator sees every tenant's and the unrouted webhooks, replays, and is
// audited; an operator's token reaches no tenant's route.
func TestOperatorsAndTenantsHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.register(t, "owner@history.example.com")
	_, _, agent := e.member(t, owner, "agent@history.example.com", "agent")
	tenantID := uuid.MustParse(owner.User.TenantID)
	if _, err := db.New(e.pool).AddPhoneNumber(ctx, db.AddPhoneNumberParams{ID: uuid.New(), TenantID: tenantID, PhoneNumberID: "1001",
		DisplayPhoneNumber: "+15550001111", WabaID: "w1"}); err != nil {
		t.Fatal(err)
	}
	other := e.mustTenant("w2", "2002")
	for _, b := range [][]byte{textBody("1001", "wamid.mine", "mine"), textBody("2002", "wamid.theirs", "theirs"), textBody("3003", "wamid.nobody", "nobody's")} {
		if rec := e.post(b, sign(b)); rec.Code != http.StatusOK {
			t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
		}
	}
	e.project(t)
	op := e.operator(t, "ops@history.example.com")

	var mine webhookPage
	e.mustGet(t, "/api/webhooks?kind=messages", owner.AccessToken, &mine)
	if len(mine.Data) != 1 || mine.Data[0].TenantID == nil || *mine.Data[0].TenantID != tenantID {
		t.Fatalf("the owner's history: %+v", mine)
	}
	seq := mine.Data[0].Seq
	if rec := e.get(fmt.Sprintf("/api/webhooks/%d/raw", seq), owner.AccessToken); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "wamid.mine") {
		t.Fatalf("raw: %d %s", rec.Code, rec.Body)
	}
	var detail struct {
		Touched []struct{ Wamid, As string } `json:"touched"`
	}
	e.mustGet(t, fmt.Sprintf("/api/webhooks/%d", seq), owner.AccessToken, &detail)
	if len(detail.Touched) != 1 || detail.Touched[0].Wamid != "wamid.mine" || detail.Touched[0].As != "message" {
		t.Fatalf("detail: %+v", detail)
	}
	var all webhookPage
	e.mustGet(t, "/api/ops/webhooks", op, &all)
	if len(all.Data) != 3 {
		t.Fatalf("operator sees %d webhooks, want 3", len(all.Data))
	}
	theirs := all.Data[1].Seq // newest first: nobody's, theirs, mine
	for _, c := range []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"owner: another tenant's webhook", "GET", fmt.Sprintf("/api/webhooks/%d", theirs), owner.AccessToken, nil, 404},
		{"owner: another tenant's raw webhook", "GET", fmt.Sprintf("/api/webhooks/%d/raw", theirs), owner.AccessToken, nil, 404},
		{"owner: ops webhooks", "GET", "/api/ops/webhooks", owner.AccessToken, nil, 403},
		{"owner: ops stats", "GET", "/api/ops/stats", owner.AccessToken, nil, 403},
		{"owner: ops replay", "POST", "/api/ops/replays", owner.AccessToken, map[string]any{"mode": "reproject"}, 403},
		{"api key: ops parked", "GET", "/api/ops/parked", other.APIKey, nil, 403},
		{"api key: ops audit log", "GET", "/api/ops/audit-log", other.APIKey, nil, 403},
		{"agent: replay", "POST", "/api/replays", agent.AccessToken, map[string]any{"mode": "reproject"}, 403},
		{"agent: history", "GET", "/api/webhooks", agent.AccessToken, nil, 403},
		{"owner: replay of unrouted webhooks", "POST", "/api/replays", owner.AccessToken, map[string]any{"mode": "reproject", "unrouted": true}, 403},
		{"operator: a tenant's conversations", "GET", "/api/conversations", op, nil, 403},
		{"operator: a tenant's replays", "GET", "/api/replays", op, nil, 403},
		{"bad mode", "POST", "/api/ops/replays", op, map[string]any{"mode": "rewind"}, 400},
		{"owner: the tenant's parked events", "GET", "/api/parked", owner.AccessToken, nil, 200},
		{"agent: parked events", "GET", "/api/parked", agent.AccessToken, nil, 403},
		{"owner dry run", "POST", "/api/replays", owner.AccessToken, map[string]any{"mode": "reproject", "dry_run": true}, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			if rec := e.send(c.method, c.path, c.token, c.body); rec.Code != c.want {
				t.Fatalf("%d, want %d: %s", rec.Code, c.want, rec.Body)
			}
		})
	}

	// An operator's replay: dry run, then a job whose progress shows.
	rec := e.send("POST", "/api/ops/replays", op, map[string]any{"mode": "reproject", "dry_run": true, "unrouted": true})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"matched":1`) {
		t.Fatalf("dry run: %d %s", rec.Code, rec.Body)
	}
	rec = e.send("POST", "/api/ops/replays", op, map[string]any{"mode": "reproject"})
	var job struct {
		ID      uuid.UUID `json:"id"`
		Matched int64     `json:"matched"`
		State   string    `json:"state"`
		Done    int64     `json:"done"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &job); err != nil || rec.Code != http.StatusAccepted || job.Matched != 3 {
		t.Fatalf("replay: %d %s", rec.Code, rec.Body)
	}
	// The jobs' projector and a worker, as `wam serve` runs them.
	e.runJobs(t)
	await.Until(t, 30*time.Second, "the job finished", func() bool {
		rec := e.get("/api/ops/replays/"+job.ID.String(), op)
		_ = json.Unmarshal(rec.Body.Bytes(), &job)
		return rec.Code == http.StatusOK && job.State == "finished" && job.Done == 3
	})
	if rec := e.get("/api/replays/"+job.ID.String(), owner.AccessToken); rec.Code != http.StatusNotFound {
		t.Fatalf("an operator's job across tenants, to an owner: %d", rec.Code)
	}
	var stats struct {
		Projectors []struct{ Name string } `json:"projectors"`
		Replays    map[string]int64        `json:"replays"`
		Stream     struct{ Tenants map[string]int64 }
	}
	e.mustGet(t, "/api/ops/stats", op, &stats)
	if stats.Replays["finished"] != 1 || stats.Stream.Tenants["_unrouted"] != 1 || len(stats.Projectors) == 0 {
		t.Fatalf("stats %+v", stats)
	}
	var audit struct {
		Data []struct{ Action, Target string } `json:"data"`
	}
	e.mustGet(t, "/api/ops/audit-log", op, &audit)
	if len(audit.Data) != 3 || audit.Data[0].Action != "replay.requested" || audit.Data[0].Target != job.ID.String() ||
		audit.Data[1].Action != "login" || audit.Data[2].Action != "operator.created" {
		t.Fatalf("operators' audit log: %+v", audit.Data)
	}
}

// runJobs runs the replay jobs' projector and the replay worker until the
// test ends.
func (e *env) runJobs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	jobs := newJobsRunner(e)
	inbox := newInboxRunner(e)
	done := make(chan struct{}, 3)
	go func() { _ = jobs.Run(ctx); done <- struct{}{} }()
	go func() { _ = inbox.Run(ctx); done <- struct{}{} }()
	w := ops.New(e.pool, e.js, newPublisher(e), ops.Options{Projectors: []ops.Reprojector{inbox}, Rate: 1e6})
	go func() { w.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; <-done })
}

func newJobsRunner(e *env) *projections.Runner {
	return projections.NewRunner(e.pool, e.js, ops.JobsProjection{}, nil, projections.Options{})
}

func newInboxRunner(e *env) *projections.Runner {
	return projections.NewInbox(e.pool, e.js, nil, projections.Options{})
}

func newPublisher(e *env) *streams.Publisher { return streams.NewPublisher(e.js) }

// TestHistoryByWamidAndContactPhone: GET /api/webhooks and
// /api/ops/webhooks take wamid and contact_phone (any spelling of the
// number), a replay's dry run counts by them, and a number that is none is
// a 400 naming the field.
func TestHistoryByWamidAndContactPhone(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t, "owner@filters.example.com")
	tenantID := uuid.MustParse(owner.User.TenantID)
	if _, err := db.New(e.pool).AddPhoneNumber(context.Background(), db.AddPhoneNumberParams{ID: uuid.New(), TenantID: tenantID,
		PhoneNumberID: "1001", DisplayPhoneNumber: "+15550001111", WabaID: "w1"}); err != nil {
		t.Fatal(err)
	}
	e.mustTenant("w2", "2002")
	status := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1001"},
"statuses":[{"id":"wamid.out","status":"sent","timestamp":"1700000100","recipient_id":"4915122222222"}]}}]}]}`)
	for _, b := range [][]byte{textBody("1001", "wamid.mine", "mine"), status, textBody("2002", "wamid.theirs", "theirs")} {
		if rec := e.post(b, sign(b)); rec.Code != http.StatusOK {
			t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
		}
	}
	e.project(t)
	op := e.operator(t, "ops@filters.example.com")

	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/api/webhooks?contact_phone=%2B49%20151%2011111111", owner.AccessToken, 1}, // the tenant's, not the other's
		{"/api/webhooks?contact_phone=4915122222222", owner.AccessToken, 1},
		{"/api/webhooks?wamid=wamid.out", owner.AccessToken, 1},
		{"/api/webhooks?wamid=wamid.theirs", owner.AccessToken, 0},
		{"/api/ops/webhooks?contact_phone=4915111111111", op, 2},
		{"/api/ops/webhooks?wamid=wamid.theirs", op, 1},
	} {
		var page webhookPage
		e.mustGet(t, c.path, c.token, &page)
		if len(page.Data) != c.want {
			t.Errorf("%s: %d webhooks, want %d", c.path, len(page.Data), c.want)
		}
	}
	rec := e.send("POST", "/api/replays", owner.AccessToken, map[string]any{"mode": "reproject", "dry_run": true, "contact_phone": "+4915111111111"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"matched":1`) {
		t.Errorf("dry run by contact phone: %d %s", rec.Code, rec.Body)
	}
	rec = e.send("POST", "/api/ops/replays", op, map[string]any{"mode": "reproject", "dry_run": true, "wamid": "wamid.mine"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"matched":1`) {
		t.Errorf("dry run by wamid: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct {
		method, path, token string
		body                any
		field               string
	}{
		{"GET", "/api/webhooks?contact_phone=12", owner.AccessToken, nil, "contact_phone"},
		{"GET", "/api/ops/webhooks?contact_phone=not-a-phone", op, nil, "contact_phone"},
		{"GET", "/api/webhooks?wamid=with%20space", owner.AccessToken, nil, "wamid"},
		{"POST", "/api/replays", owner.AccessToken, map[string]any{"mode": "reproject", "dry_run": true, "contact_phone": "0151 1111111"}, "contact_phone"},
	} {
		rec := e.send(c.method, c.path, c.token, c.body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.field) {
			t.Errorf("%s %s: %d %s, want 400 naming %s", c.method, c.path, rec.Code, rec.Body, c.field)
		}
	}
}
