package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/rebuild"
)

// Online rebuilds are the operators': `x-wam-roles: [operator]` in the
// contract. The rules are package rebuild's; these handlers decode, call
// and encode.

// StartRebuild starts a rebuild in the background and answers its job.
func (s handlers) StartRebuild(c echo.Context) error {
	svc, err := s.rebuilds()
	if err != nil {
		return err
	}
	var r apigen.RebuildRequest
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &r); err != nil {
			return err
		}
	}
	req := rebuild.Request{Tenant: r.TenantId, Actor: actorText(principal(c))}
	if r.Projector != nil {
		req.Projector = string(*r.Projector)
	}
	job, err := svc.Start(c.Request().Context(), req)
	if err != nil {
		return err
	}
	// The rebuild runs; its row names who asked (requested_by).
	s.auditRebuild(c, "rebuild.started", job)
	return c.JSON(http.StatusAccepted, rebuildOf(job))
}

func (s handlers) rebuilds() (*rebuild.Service, error) {
	if s.cfg.Rebuilds == nil {
		return nil, domain.Errorf(domain.ErrUnavailable, "rebuilds are not run by this server")
	}
	return s.cfg.Rebuilds, nil
}

// auditRebuild records what an operator did to a rebuild; the job goes on
// if that fails, so the failure is only logged.
func (s handlers) auditRebuild(c echo.Context, action string, job rebuild.Job) {
	if err := s.ops.Audit(c.Request().Context(), opsActor(c), action, job.Tenant, job.ID.String(),
		map[string]any{"projector": job.Projector}); err != nil {
		s.log.Warn("audit of a rebuild", "job", job.ID, "action", action, "err", err)
	}
}

// GetRebuild answers a rebuild's progress.
func (s handlers) GetRebuild(c echo.Context, id apigen.ID) error {
	svc, err := s.rebuilds()
	if err != nil {
		return err
	}
	job, err := svc.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rebuildOf(job))
}

// ListRebuilds answers the newest rebuild jobs first.
func (s handlers) ListRebuilds(c echo.Context, p apigen.ListRebuildsParams) error {
	svc, err := s.rebuilds()
	if err != nil {
		return err
	}
	jobs, err := svc.List(c.Request().Context(), limitOf(p.Limit))
	if err != nil {
		return err
	}
	out := apigen.RebuildList{Data: make([]apigen.Rebuild, 0, len(jobs))}
	for _, j := range jobs {
		out.Data = append(out.Data, rebuildOf(j))
	}
	return c.JSON(http.StatusOK, out)
}

// CancelRebuild asks a rebuild to stop and answers its job.
func (s handlers) CancelRebuild(c echo.Context, id apigen.ID) error {
	svc, err := s.rebuilds()
	if err != nil {
		return err
	}
	job, err := svc.Cancel(c.Request().Context(), id)
	if err != nil {
		return err
	}
	// The request is on the job too (cancel_requested_at).
	s.auditRebuild(c, "rebuild.cancelled", job)
	return c.JSON(http.StatusAccepted, rebuildOf(job))
}

func rebuildOf(j rebuild.Job) apigen.Rebuild {
	out := apigen.Rebuild{Id: j.ID, Projector: j.Projector, State: apigen.RebuildState(j.State),
		Checkpoint: int64(j.Checkpoint), EventsDone: int64(j.EventsDone), EventsLeft: int64(j.EventsLeft),
		EventsPerS: float32(j.EventsPerS), Error: j.Error, StartedAt: j.StartedAt.UTC(), UpdatedAt: j.UpdatedAt.UTC(),
		TenantId: null(j.Tenant), FinishedAt: null(utc(j.FinishedAt)), CancelRequestedAt: null(utc(j.CancelRequestedAt))}
	if j.ETA != nil {
		eta := float32(j.ETA.Seconds())
		out.EtaSeconds = null(&eta)
	}
	return out
}

// actorText names a principal in a job's record: the user, or the API key.
func actorText(p Principal) string {
	switch {
	case p.UserID != uuid.Nil:
		return "user:" + p.UserID.String()
	case p.APIKeyID != uuid.Nil:
		return "api_key:" + p.APIKeyID.String()
	}
	return ""
}
