package templates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/messaging"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/numbers"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
)

// Report is what a sync found, WABA by WABA.
type Report struct {
	WABAs []WABAReport
}

// WABAReport is the outcome of listing one WABA's templates: how many Meta
// listed, or why they could not be listed (the others are synced all the
// same).
type WABAReport struct {
	WABAID    string
	Templates int
	Error     string // "": listed
}

// maxPart bounds the templates of one template.synced event (by their
// JSON): a WABA may have thousands, with components of kilobytes each.
const maxPart = 768 << 10

// Sync lists the templates of every WABA of the tenant's numbers, every
// page, and publishes each listing as template.synced. A WABA that cannot
// be listed (no token, Meta refusing it or not answering) is reported and
// the others are synced. The error is for PostgreSQL or the event store
// being unavailable.
func (s *Service) Sync(ctx context.Context, tenant uuid.UUID) (Report, error) {
	var r Report
	wabas, err := s.q.TenantWABAs(ctx, tenant)
	if err != nil {
		return r, dberr.Translate(err)
	}
	for _, waba := range wabas {
		n, err := s.syncWABA(ctx, tenant, waba)
		var problem *syncProblem
		switch {
		case errors.As(err, &problem):
			s.o.Logger.Warn("template sync", "tenant_id", tenant, "waba_id", waba, "problem", problem.text, "err", problem.err)
			r.WABAs = append(r.WABAs, WABAReport{WABAID: waba, Error: problem.text})
		case err != nil:
			return r, err
		default:
			r.WABAs = append(r.WABAs, WABAReport{WABAID: waba, Templates: n})
		}
	}
	return r, nil
}

// syncProblem is why one WABA could not be listed.
type syncProblem struct {
	text string
	err  error
}

func (p *syncProblem) Error() string { return p.text }

// syncWABA lists WABA waba's templates and publishes them.
func (s *Service) syncWABA(ctx context.Context, tenant uuid.UUID, waba string) (int, error) {
	n, err := s.creds.ForWABA(ctx, tenant, waba)
	switch {
	case errors.Is(err, numbers.ErrNoNumber) || err == nil && n.Token == "":
		return 0, &syncProblem{text: "no number of this WhatsApp Business Account has an access token"}
	case err != nil:
		return 0, dberr.Translate(err)
	case s.graph == nil:
		return 0, &syncProblem{text: "no Graph API configured"}
	}
	// The listing's time is when it was asked for: a status update Meta
	// made while the pages were read is newer, and wins.
	at := s.o.Now().UTC()
	list, err := s.graph.Templates(ctx, waba, n.Token)
	if err != nil {
		var ge *meta.Error
		switch {
		case errors.As(err, &ge) && ge.Code == meta.CodeAccessToken:
			return 0, &syncProblem{text: "Meta refused the access token (code 190): replace it (PATCH /api/waba/credentials/{id})", err: err}
		case errors.As(err, &ge):
			return 0, &syncProblem{text: fmt.Sprintf("Meta refused the listing (code %d: %s)", ge.Code, ge.Message), err: err}
		}
		return 0, &syncProblem{text: "Meta's Graph API did not answer", err: err}
	}
	syncID, err := uuid.NewV7()
	if err != nil {
		return 0, err
	}
	c := messaging.Caller{Tenant: tenant, Actor: "system"}
	part := domain.TemplateSynced{WABAID: waba, SyncID: syncID, Part: 1, At: at}
	size := 0
	listed := make([]string, 0, len(list))
	flush := func(complete bool) error {
		if complete {
			part.Complete, part.Listed = true, listed
		}
		msgID := fmt.Sprintf("template.synced:%s:%d", syncID, part.Part)
		if _, err := s.publish(ctx, c, domain.EventTemplateSynced, msgID, at, part); err != nil {
			return &domain.Error{Code: domain.ErrUnavailable, Message: "the event store is unavailable; retry later", Cause: err}
		}
		part = domain.TemplateSynced{WABAID: waba, SyncID: syncID, Part: part.Part + 1, At: at}
		size = 0
		return nil
	}
	for _, t := range list {
		info := domain.TemplateInfo{ID: t.ID, Name: t.Name, Language: t.Language, Status: t.Status,
			Category: t.Category, RejectedReason: t.RejectedReason, Components: t.Components}
		b, _ := json.Marshal(info)
		if size > 0 && size+len(b) > maxPart {
			if err := flush(false); err != nil {
				return 0, err
			}
		}
		part.Templates = append(part.Templates, info)
		listed = append(listed, t.ID)
		size += len(b)
	}
	if err := flush(true); err != nil {
		return 0, err
	}
	return len(list), nil
}

// run is a sync of one tenant under way.
type run struct {
	done   chan struct{}
	report Report
	err    error
}

// start returns a sync of tenant that starts now, in the background, or,
// when one is under way (which may have read the tenant's numbers and
// Meta's listing before what prompted this one), the one that starts after
// it; every caller meanwhile shares that next one.
func (s *Service) start(tenant uuid.UUID) *run {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.runs[tenant]; busy {
		r, ok := s.next[tenant]
		if !ok {
			r = &run{done: make(chan struct{})}
			s.next[tenant] = r
		}
		return r
	}
	r := &run{done: make(chan struct{})}
	s.launch(tenant, r)
	return r
}

// launch runs r; s.mu held.
func (s *Service) launch(tenant uuid.UUID, r *run) {
	s.runs[tenant] = r
	base := s.base
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(base, s.o.SyncTimeout)
		r.report, r.err = s.Sync(ctx, tenant)
		cancel()
		if r.err != nil {
			s.o.Logger.Warn("template sync failed", "tenant_id", tenant, "err", r.err)
		}
		s.mu.Lock()
		delete(s.runs, tenant)
		if next, ok := s.next[tenant]; ok {
			delete(s.next, tenant)
			s.launch(tenant, next)
		}
		s.mu.Unlock()
		close(r.done)
	}()
}

// answerMargin is what SyncWithin leaves of its caller's deadline to answer.
const answerMargin = 500 * time.Millisecond

// SyncWithin syncs the tenant's templates as Sync does, in the background,
// and waits for the outcome while ctx allows, but for a margin in which to
// answer: done is false when the sync goes on after that (its outcome then
// shows in the list). The sync starts after the call (one under way is
// followed by one more, which concurrent callers share).
func (s *Service) SyncWithin(ctx context.Context, tenant uuid.UUID) (report Report, done bool, err error) {
	r := s.start(tenant)
	var timeout <-chan time.Time
	if dl, ok := ctx.Deadline(); ok {
		t := time.NewTimer(max(0, time.Until(dl)-answerMargin))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-r.done:
		return r.report, true, r.err
	case <-timeout:
	case <-ctx.Done():
	}
	return Report{}, false, nil
}

// Nudge syncs the tenant's templates soon, in the background: a number was
// connected, and its WABA's templates are needed for sending.
func (s *Service) Nudge(tenant uuid.UUID) { s.start(tenant) }

// Run is the sync worker: it syncs, at once and then every Check, the
// tenants with a WABA not listed for Every, one tenant at a time, until
// ctx ends; syncs that nudges start from then on end with it too.
func (s *Service) Run(ctx context.Context) {
	s.mu.Lock()
	s.base = ctx
	s.mu.Unlock()
	defer s.wg.Wait()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.pass(ctx)
		t.Reset(s.o.Check)
	}
}

// pass syncs the tenants due.
func (s *Service) pass(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, s.o.QueryTimeout)
	due, err := s.q.TemplateSyncsDue(qctx, db.TemplateSyncsDueParams{Before: s.o.Now().Add(-s.o.Every), Lim: 10000})
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			s.o.Logger.Warn("template sync: looking for WABAs due", "err", err)
		}
		return
	}
	for _, tenant := range due {
		r := s.start(tenant)
		select {
		case <-r.done:
		case <-ctx.Done():
			return
		}
	}
}
