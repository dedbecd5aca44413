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
	if s.cfg.Rebuilds == nil {
		return domain.Errorf(domain.ErrUnavailable, "rebuilds are not run by this server")
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
	ctx := c.Request().Context()
	job, err := s.cfg.Rebuilds.Start(ctx, req)
	if err != nil {
		return err
	}
	if err := s.ops.Audit(ctx, opsActor(c), "rebuild.started", job.Tenant, job.ID.String(),
		map[string]any{"projector": job.Projector}); err != nil {
		// The rebuild runs; its row names who asked (requested_by).
		s.log.Warn("audit of a rebuild", "job", job.ID, "err", err)
	}
	return c.JSON(http.StatusAccepted, rebuildOf(job))
}

// GetRebuild answers a rebuild's progress.
func (s handlers) GetRebuild(c echo.Context, id apigen.ID) error {
	if s.cfg.Rebuilds == nil {
		return domain.Errorf(domain.ErrUnavailable, "rebuilds are not run by this server")
	}
	job, err := s.cfg.Rebuilds.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rebuildOf(job))
}

func rebuildOf(j rebuild.Job) apigen.Rebuild {
	out := apigen.Rebuild{Id: j.ID, Projector: j.Projector, State: apigen.RebuildState(j.State),
		Checkpoint: int64(j.Checkpoint), EventsDone: int64(j.EventsDone), EventsLeft: int64(j.EventsLeft),
		EventsPerS: float32(j.EventsPerS), Error: j.Error, StartedAt: j.StartedAt.UTC(), UpdatedAt: j.UpdatedAt.UTC(),
		TenantId: null(j.Tenant), FinishedAt: null(utc(j.FinishedAt))}
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
