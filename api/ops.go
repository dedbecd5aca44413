package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/ops"
)

// The operators' tools: /api/ops/… for operators (role operator, no
// tenant), and a tenant's own history under /api/webhooks and
// /api/replays for its owners and admins. Handlers decode, call package
// ops and encode; the rules are ops's.
//
// Mounting an operators' route: add the operation under /api/ops/ in
// api/openapi.yaml with `x-wam-roles: [operator]` (and no other role), run
// `make generate` and implement the method of apigen.ServerInterface.
// routes reads the role and puts OperatorsOnly in front of it; a route
// registered by hand uses OperatorsOnly itself.

// OperatorsOnly are the guards of every /api/ops route: an operator's
// access token, and nothing else. No tenant user's token and no API key
// passes (403), and operators' requests count against no tenant's quota.
func (s *Server) OperatorsOnly() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{s.requireAuth, requireRole(auth.RoleOperator)}
}

// refuseOperators keeps operators out of tenants' routes: they belong to
// no tenant, and reach /api/ops only.
func refuseOperators(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if principal(c).Role == auth.RoleOperator {
			return domain.Errorf(domain.ErrForbidden, "operators use /api/ops")
		}
		return next(c)
	}
}

// opsActor is the request's principal as package ops sees it.
func opsActor(c echo.Context) ops.Actor {
	a := ops.Actor{RequestID: requestID(c), IP: c.RealIP()}
	if p, ok := c.Get(principalKey).(Principal); ok {
		a.TenantID, a.UserID, a.APIKeyID, a.Role = p.TenantID, p.UserID, p.APIKeyID, p.Role
		if p.Role == auth.RoleOperator {
			a.OperatorID, a.UserID = p.UserID, uuid.Nil
		}
	}
	return a
}

// OperatorLogin signs an operator in.
func (s handlers) OperatorLogin(c echo.Context) error {
	var r apigen.LoginRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	sess, err := s.ops.Login(c.Request().Context(), opsActor(c), r.Email, r.Password)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apigen.OperatorSession{AccessToken: sess.AccessToken, TokenType: apigen.OperatorSessionTokenType("Bearer"),
		ExpiresIn: int(sess.ExpiresIn / time.Second),
		Operator:  apigen.Operator{Id: sess.Operator.ID, Email: sess.Operator.Email, Name: sess.Operator.Name, Role: apigen.OperatorRole(auth.RoleOperator)}})
}

func limitOf(l *int) int {
	if l == nil {
		return defaultLimit
	}
	return *l
}

func seqCursor(v *string) (uint64, error) {
	if deref(v) == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(*v, 10, 64)
	if err != nil || n == 0 {
		return 0, domain.Errorf(domain.ErrInvalid, "cursor: not a cursor this API returned")
	}
	return n, nil
}

func cursorOf(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

// ListWebhooks is the tenant's webhook history.
func (s handlers) ListWebhooks(c echo.Context, p apigen.ListWebhooksParams) error {
	f := ops.Filter{From: p.From, To: p.To, PhoneNumberID: deref(p.PhoneNumberId), Kind: deref(p.Kind), Result: string(deref(p.Result)),
		WAMID: deref(p.Wamid), ContactPhone: deref(p.ContactPhone)}
	return s.listWebhooks(c, "/api/webhooks", f, p.Cursor, p.Limit)
}

// ListOpsWebhooks is every tenant's webhook history and the unrouted webhooks.
func (s handlers) ListOpsWebhooks(c echo.Context, p apigen.ListOpsWebhooksParams) error {
	f := ops.Filter{From: p.From, To: p.To, Tenant: p.TenantId, Unrouted: deref(p.Unrouted), PhoneNumberID: deref(p.PhoneNumberId),
		Kind: deref(p.Kind), Result: string(deref(p.Result)), WAMID: deref(p.Wamid), ContactPhone: deref(p.ContactPhone)}
	return s.listWebhooks(c, "/api/ops/webhooks", f, p.Cursor, p.Limit)
}

func (s handlers) listWebhooks(c echo.Context, base string, f ops.Filter, cursor *string, limit *int) error {
	before, err := seqCursor(cursor)
	if err != nil {
		return err
	}
	page, err := s.ops.ListWebhooks(c.Request().Context(), opsActor(c), f, before, limitOf(limit))
	if err != nil {
		return err
	}
	out := apigen.WebhookPage{Data: make([]apigen.WebhookEntry, 0, len(page.Webhooks)), NextCursor: cursorOf(page.Next)}
	for _, w := range page.Webhooks {
		out.Data = append(out.Data, webhookEntryOf(base, w))
	}
	return c.JSON(http.StatusOK, out)
}

func webhookEntryOf(base string, w ops.Webhook) apigen.WebhookEntry {
	e := apigen.WebhookEntry{Seq: int64(w.Seq), ReceivedAt: w.ReceivedAt, TenantId: null(w.TenantID), PhoneNumberIds: nonNil(w.PhoneNumberIDs),
		WabaIds: nonNil(w.WABAIDs), Kinds: nonNil(w.Kinds), Messages: w.Messages, Statuses: w.Statuses, DecodeResult: apigen.WebhookEntryDecodeResult(w.DecodeResult), DecodeError: w.DecodeError,
		SizeBytes: w.Size, Routing: w.Routing, AdoptedBy: int64(w.AdoptedBy), AdoptedFrom: int64(w.AdoptedFrom), Refused: w.Refused, Parked: w.Parked}
	e.Links.Self = fmt.Sprintf("%s/%d", base, w.Seq)
	e.Links.Raw = e.Links.Self + "/raw"
	return e
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// GetWebhook is one webhook of the tenant's history.
func (s handlers) GetWebhook(c echo.Context, seq apigen.Seq) error {
	return s.getWebhook(c, "/api/webhooks", seq)
}

// GetOpsWebhook is one webhook of any history.
func (s handlers) GetOpsWebhook(c echo.Context, seq apigen.Seq) error {
	return s.getWebhook(c, "/api/ops/webhooks", seq)
}

func (s handlers) getWebhook(c echo.Context, base string, seq int64) error {
	d, err := s.ops.GetWebhook(c.Request().Context(), opsActor(c), uint64(seq))
	if err != nil {
		return err
	}
	out := apigen.WebhookDetail{Webhook: webhookEntryOf(base, d.Webhook), Messages: d.Messages, Statuses: d.Statuses,
		Problems: nonNil(d.Problems), Missing: nonNil(d.Missing), Touched: grow(apigen.WebhookDetail{}.Touched, len(d.Touched))}
	for i, m := range d.Touched {
		t := &out.Touched[i]
		t.MessageId, t.ConversationId, t.Wamid, t.Direction, t.Type, t.Status, t.As = m.MessageID, m.ConversationID, m.WAMID, m.Direction, m.Type, m.Status, m.As
		t.Links.Message = "/api/messages/" + m.MessageID.String()
		t.Links.Conversation = "/api/conversations/" + m.ConversationID.String()
	}
	return c.JSON(http.StatusOK, out)
}

// grow is a slice of n zero elements of s's type, for the generated
// types' slices of anonymous structs.
func grow[S ~[]E, E any](_ S, n int) S { return make(S, n) }

// GetWebhookRaw is a webhook of the tenant's history as Meta sent it.
func (s handlers) GetWebhookRaw(c echo.Context, seq apigen.Seq) error { return s.getWebhookRaw(c, seq) }

// GetOpsWebhookRaw is a webhook of any history as Meta sent it.
func (s handlers) GetOpsWebhookRaw(c echo.Context, seq apigen.Seq) error {
	return s.getWebhookRaw(c, seq)
}

func (s handlers) getWebhookRaw(c echo.Context, seq int64) error {
	raw, err := s.ops.RawWebhook(c.Request().Context(), opsActor(c), uint64(seq))
	if err != nil {
		return err
	}
	typ := "application/octet-stream"
	if json.Valid(raw.Data) {
		typ = "application/json"
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="webhook-%d.json"`, seq))
	return c.Blob(http.StatusOK, typ, raw.Data)
}

// RequestReplay replays (or counts) the tenant's webhooks.
func (s handlers) RequestReplay(c echo.Context) error { return s.requestReplay(c) }

// RequestOpsReplay replays (or counts) any webhooks.
func (s handlers) RequestOpsReplay(c echo.Context) error { return s.requestReplay(c) }

func (s handlers) requestReplay(c echo.Context) error {
	var r apigen.ReplayRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	req := ops.ReplayRequest{Mode: string(r.Mode), DryRun: deref(r.DryRun), Filter: ops.Filter{From: r.From, To: r.To, Tenant: r.TenantId,
		Unrouted: deref(r.Unrouted), PhoneNumberID: deref(r.PhoneNumberId), Kind: deref(r.Kind), Result: string(deref(r.Result)),
		WAMID: deref(r.Wamid), ContactPhone: deref(r.ContactPhone), FromSeq: uint64(deref(r.FromSeq)), ToSeq: uint64(deref(r.ToSeq))}}
	job, err := s.ops.RequestReplay(c.Request().Context(), opsActor(c), req)
	if err != nil {
		return err
	}
	if req.DryRun {
		return c.JSON(http.StatusOK, apigen.ReplayCount{DryRun: true, Matched: job.Matched})
	}
	return c.JSON(http.StatusAccepted, replayJobOf(job))
}

func replayJobOf(j ops.Job) apigen.ReplayJob {
	sel, _ := json.Marshal(j.Selection)
	return apigen.ReplayJob{Id: j.ID, TenantId: null(j.TenantID), Mode: j.Mode, Selection: sel, State: apigen.ReplayJobState(j.State),
		Matched: j.Matched, Done: j.Done, Rate: float32(j.Rate), EtaSeconds: int(j.ETA() / time.Second), Error: j.Error,
		RequestedBy: j.RequestedBy, RequestedAt: j.RequestedAt, StartedAt: null(utc(j.StartedAt)), UpdatedAt: j.UpdatedAt,
		FinishedAt: null(utc(j.FinishedAt))}
}

// ListReplays are the tenant's replay jobs.
func (s handlers) ListReplays(c echo.Context, p apigen.ListReplaysParams) error {
	return s.listReplays(c, p.Limit)
}

// ListOpsReplays are every replay job.
func (s handlers) ListOpsReplays(c echo.Context, p apigen.ListOpsReplaysParams) error {
	return s.listReplays(c, p.Limit)
}

func (s handlers) listReplays(c echo.Context, limit *int) error {
	jobs, err := s.ops.ListReplays(c.Request().Context(), opsActor(c), limitOf(limit))
	if err != nil {
		return err
	}
	out := apigen.ReplayList{Data: make([]apigen.ReplayJob, 0, len(jobs))}
	for _, j := range jobs {
		out.Data = append(out.Data, replayJobOf(j))
	}
	return c.JSON(http.StatusOK, out)
}

// GetReplay is one of the tenant's replay jobs.
func (s handlers) GetReplay(c echo.Context, id apigen.ID) error { return s.getReplay(c, id) }

// GetOpsReplay is any replay job.
func (s handlers) GetOpsReplay(c echo.Context, id apigen.ID) error { return s.getReplay(c, id) }

func (s handlers) getReplay(c echo.Context, id uuid.UUID) error {
	j, err := s.ops.GetReplay(c.Request().Context(), opsActor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, replayJobOf(j))
}

// CancelReplay cancels one of the tenant's replay jobs.
func (s handlers) CancelReplay(c echo.Context, id apigen.ID) error { return s.cancelReplay(c, id) }

// CancelOpsReplay cancels any replay job.
func (s handlers) CancelOpsReplay(c echo.Context, id apigen.ID) error { return s.cancelReplay(c, id) }

func (s handlers) cancelReplay(c echo.Context, id uuid.UUID) error {
	j, err := s.ops.CancelReplay(c.Request().Context(), opsActor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, replayJobOf(j))
}

// ListParked are the parked events.
func (s handlers) ListParked(c echo.Context, p apigen.ListParkedParams) error {
	return s.listParked(c, p.Cursor, p.Limit)
}

// ListTenantParked are the tenant's parked events.
func (s handlers) ListTenantParked(c echo.Context, p apigen.ListTenantParkedParams) error {
	return s.listParked(c, p.Cursor, p.Limit)
}

func (s handlers) listParked(c echo.Context, cursor *string, limit *int) error {
	after, err := seqCursor(cursor)
	if err != nil {
		return err
	}
	page, err := s.ops.ListParked(c.Request().Context(), opsActor(c), after, limitOf(limit))
	if err != nil {
		return err
	}
	out := apigen.ParkedPage{Data: make([]apigen.ParkedEvent, 0, len(page.Events)), NextCursor: cursorOf(page.Next)}
	for _, e := range page.Events {
		h := map[string][]string{}
		for k, v := range e.Header {
			h[k] = v
		}
		out.Data = append(out.Data, apigen.ParkedEvent{Projector: e.Projector, Seq: int64(e.Seq), Subject: e.Subject, Error: e.Error,
			ParkedAt: e.ParkedAt, Headers: h, DataBase64: base64.StdEncoding.EncodeToString(e.Data)})
	}
	return c.JSON(http.StatusOK, out)
}

// RetryParked applies parked events again.
func (s handlers) RetryParked(c echo.Context) error {
	var r apigen.RetryParkedRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	res, err := s.ops.RetryParked(c.Request().Context(), opsActor(c), r.Projector, uint64(deref(r.Seq)))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apigen.RetryParkedResult{Retried: res.Retried, Applied: res.Applied, StillParked: res.StillParked})
}

// DiscardParked discards a parked event with a reason.
func (s handlers) DiscardParked(c echo.Context, projector string, seq apigen.Seq) error {
	var r apigen.DiscardParkedRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if err := s.ops.DiscardParked(c.Request().Context(), opsActor(c), projector, uint64(seq), r.Reason); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// GetOpsStats are the health figures of streams and workers.
func (s handlers) GetOpsStats(c echo.Context) error {
	st, err := s.ops.Stats(c.Request().Context(), opsActor(c))
	if err != nil {
		return err
	}
	var out apigen.OpsStats
	out.At, out.Parked, out.Replays = st.At, st.Parked, st.Replays
	out.Stream.Messages, out.Stream.Bytes = int64(st.Stream.Messages), int64(st.Stream.Bytes)
	out.Stream.FirstSeq, out.Stream.LastSeq = int64(st.Stream.FirstSeq), int64(st.Stream.LastSeq)
	out.Stream.FirstAt, out.Stream.LastAt = st.Stream.FirstAt, st.Stream.LastAt
	out.Stream.Tenants = map[string]int64{}
	for k, v := range st.Stream.Tenants {
		out.Stream.Tenants[k] = int64(v)
	}
	out.Projectors = grow(out.Projectors, len(st.Projectors))
	for i, p := range st.Projectors {
		o := &out.Projectors[i]
		o.Name, o.Checkpoint, o.LagEvents, o.LagSeconds = p.Name, int64(p.Checkpoint), int64(p.LagEvents), float32(p.LagSeconds)
		o.Rate, o.InProcess, o.UpdatedAt = float32(p.Rate), p.InProcess, p.UpdatedAt
		o.State, o.StateError, o.StateSince = apigen.OpsStatsProjectorsState(p.State), p.StateError, null(nonZero(p.StateSince))
	}
	sd := st.Sender
	out.Sender.Pending, out.Sender.InFlight, out.Sender.Redelivered = int64(sd.Pending), sd.InFlight, sd.Redelivered
	out.Sender.HeldNumbers, out.Sender.Numbers, out.Sender.Queued = sd.HeldNumbers, sd.Numbers, sd.Queued
	out.Sender.InProcess, out.Sender.Active, out.Sender.Accepted, out.Sender.Failed = sd.InProcess, sd.Active, sd.Accepted, sd.Failed
	out.Sender.Retries, out.Sender.Resent, out.Sender.Working = sd.Retries, sd.Resent, sd.Working
	out.Sender.ByNumber = grow(out.Sender.ByNumber, len(sd.ByNumber))
	for i, n := range sd.ByNumber {
		o := &out.Sender.ByNumber[i]
		o.TenantId, o.PhoneNumberId, o.Pending, o.OldestQueuedAt, o.Held = n.TenantID, n.PhoneNumberID, n.Pending, null(n.OldestQueuedAt), n.Held
	}
	out.Media.Pending, out.Media.Failed, out.Media.Stored = st.Media.Pending, st.Media.Failed, st.Media.Stored
	return c.JSON(http.StatusOK, out)
}

// nonZero is t, or nil when it is the zero time.
func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ListOpsAuditLog is what operators did, newest first.
func (s handlers) ListOpsAuditLog(c echo.Context, p apigen.ListOpsAuditLogParams) error {
	before, err := seqCursor(p.Cursor)
	if err != nil {
		return err
	}
	page, err := s.ops.AuditLog(c.Request().Context(), opsActor(c), int64(before), limitOf(p.Limit))
	if err != nil {
		return err
	}
	out := apigen.OpsAuditPage{Data: make([]apigen.OpsAuditEntry, 0, len(page.Entries)), NextCursor: cursorOf(uint64(page.Next))}
	for _, e := range page.Entries {
		out.Data = append(out.Data, apigen.OpsAuditEntry{Id: e.ID, At: e.At.UTC(), OperatorId: null(e.OperatorID), Action: e.Action,
			TenantId: null(e.TenantID), Target: e.Target, Detail: e.Detail, RequestId: e.RequestID, Ip: e.Ip})
	}
	return c.JSON(http.StatusOK, out)
}
