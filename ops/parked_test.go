package ops

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
)

// poisoned is the inbox with a bug that makes webhooks naming "POISON"
// fail, until fixed is set.
type poisoned struct {
	projections.Inbox
	fixed *atomic.Bool
}

func (p poisoned) Prepare(ev *projections.Event) error {
	if !p.fixed.Load() && bytes.Contains(ev.Data, []byte("POISON")) {
		return &projections.PoisonError{Err: errors.New("cannot apply POISON")}
	}
	return p.Inbox.Prepare(ev)
}

func TestParkedEventRetriedAfterFix(t *testing.T) {
	fixed := new(atomic.Bool)
	e := mustEnv(t, poisoned{fixed: fixed})
	ctx := context.Background()
	tenant := uuid.NewString()
	poison := e.publish(t, tenant, textHook("wamid.P1", "4915111111111", "Ada", "POISON", 1700000000))
	other := e.publish(t, tenant, textHook("wamid.P2", "4915122222222", "Bob", "POISON too", 1700000001))
	last := e.publish(t, tenant, textHook("wamid.OK", "4915111111111", "Ada", "fine", 1700000010))
	wait(t, e.inbox, last) // the projector went on past them
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE wamid = 'wamid.OK'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the event after the poison one was not applied: %d %v", n, err)
	}
	// The retries go through the same projection, as `wam serve` wires it.
	s := e.service(Options{})
	page, err := s.ListParked(ctx, cli, 0, 50)
	if err != nil || len(page.Events) != 2 || page.Events[0].Seq != poison || page.Events[0].Error != "cannot apply POISON" ||
		!bytes.Contains(page.Events[0].Data, []byte("wamid.P1")) || page.Events[0].Header.Get("Wam-Tenant") != tenant {
		t.Fatalf("parked %+v, %v", page, err)
	}
	// A tenant's owner sees the tenant's own, and no other tenant's.
	if p, err := s.ListParked(ctx, Actor{TenantID: uuid.MustParse(tenant), Role: "owner"}, 0, 50); err != nil || len(p.Events) != 2 {
		t.Fatalf("the owner's parked events: %+v %v", p, err)
	}
	if p, err := s.ListParked(ctx, Actor{TenantID: uuid.New(), Role: "owner"}, 0, 50); err != nil || len(p.Events) != 0 {
		t.Fatalf("another owner's parked events: %+v %v", p, err)
	}
	if _, err := s.ListParked(ctx, Actor{TenantID: uuid.MustParse(tenant), Role: "agent"}, 0, 50); domain.ErrorCode(err) != domain.ErrForbidden {
		t.Fatalf("an agent listed parked events: %v", err)
	}
	if _, err := s.RetryParked(ctx, Actor{TenantID: uuid.New(), Role: "owner"}, "inbox", 0); domain.ErrorCode(err) != domain.ErrForbidden {
		t.Fatalf("an owner retried: %v", err)
	}

	// Still broken: a retry parks it again.
	res, err := s.RetryParked(ctx, cli, "inbox", poison)
	if err != nil || res != (RetryResult{Retried: 1, StillParked: 1}) {
		t.Fatalf("retry before the fix: %+v %v", res, err)
	}
	fixed.Store(true)
	res, err = s.RetryParked(ctx, cli, "inbox", poison)
	if err != nil || res != (RetryResult{Retried: 1, Applied: 1}) {
		t.Fatalf("retry after the fix: %+v %v", res, err)
	}
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE wamid = 'wamid.P1'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("retried event not applied: %d %v", n, err)
	}
	// The other one is discarded, with a reason, audited.
	if err := s.DiscardParked(ctx, cli, "inbox", other, ""); domain.ErrorCode(err) != domain.ErrInvalid {
		t.Fatalf("discard without a reason: %v", err)
	}
	op := Actor{Role: "operator", OperatorID: uuid.New(), RequestID: "req-1"}
	if err := s.DiscardParked(ctx, op, "inbox", other, "test data"); err != nil {
		t.Fatal(err)
	}
	if page, err := s.ListParked(ctx, cli, 0, 50); err != nil || len(page.Events) != 0 {
		t.Fatalf("parked after retry and discard: %+v %v", page, err)
	}
	audit, err := s.AuditLog(ctx, cli, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit.Entries {
		actions = append(actions, a.Action)
	}
	if len(audit.Entries) != 3 || audit.Entries[0].Action != "parked.discarded" || *audit.Entries[0].OperatorID != op.OperatorID ||
		audit.Entries[0].RequestID != "req-1" || !bytes.Contains(audit.Entries[0].Detail, []byte("test data")) {
		t.Fatalf("audit log %v: %+v", actions, audit.Entries)
	}
}
