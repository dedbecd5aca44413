package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/templates"
)

// ListTemplates lists the tenant's message templates (templates.Service.List).
func (s handlers) ListTemplates(c echo.Context, f apigen.ListTemplatesParams) error {
	page, err := s.templates.List(c.Request().Context(), principal(c).TenantID, templates.Filter{
		Status: deref(f.Status), Category: string(deref(f.Category)), Language: deref(f.Language), Name: deref(f.Name),
		Cursor: deref(f.Cursor), Limit: deref(f.Limit),
	})
	if err != nil {
		return err
	}
	out := apigen.TemplatePage{Data: make([]apigen.Template, len(page.Templates)), NextCursor: page.Next}
	for i, t := range page.Templates {
		out.Data[i] = templateOf(t)
	}
	return c.JSON(http.StatusOK, out)
}

// CreateTemplate submits a template to Meta (templates.Service.Create).
func (s handlers) CreateTemplate(c echo.Context) error {
	var r apigen.CreateTemplateRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	t, err := s.templates.Create(c.Request().Context(), caller(c), templates.NewTemplate{
		WABAID: deref(r.WabaId), Name: r.Name, Language: r.Language, Category: string(r.Category), Components: r.Components,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, templateOf(t))
}

// SyncTemplates lists the tenant's templates from Meta now, and answers
// what it found if that is done within the request's deadline: a sync
// usually takes a page or three per WABA, and its outcome (say, a token
// Meta refused) is then worth seeing at once; a longer one goes on, and
// the answer says so rather than failing the request.
func (s handlers) SyncTemplates(c echo.Context) error {
	r, done, err := s.templates.SyncWithin(c.Request().Context(), principal(c).TenantID)
	if err != nil {
		return err
	}
	out := apigen.TemplateSync{Done: done, Wabas: make([]apigen.TemplateSyncWABA, len(r.WABAs))}
	for i, w := range r.WABAs {
		out.Wabas[i] = apigen.TemplateSyncWABA{WabaId: w.WABAID, Templates: w.Templates, Error: w.Error}
	}
	if !done {
		return c.JSON(http.StatusAccepted, out)
	}
	return c.JSON(http.StatusOK, out)
}

// DeleteTemplate deletes a template at Meta (templates.Service.Delete).
func (s handlers) DeleteTemplate(c echo.Context, name string, p apigen.DeleteTemplateParams) error {
	d, err := s.templates.Delete(c.Request().Context(), caller(c), name, deref(p.Language), deref(p.WabaId))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, apigen.TemplateDeleted{Name: d.Name, WabaIds: d.WABAIDs, Events: d.Events})
}

func templateOf(t db.Template) apigen.Template {
	return apigen.Template{Id: t.TemplateID, WabaId: t.WabaID, Name: t.Name, Language: t.Language, Status: t.Status,
		Category: t.Category, Components: t.Components, RejectedReason: t.Reason, UpdatedAt: t.UpdatedAt.UTC()}
}

// numberConnected tells whoever keeps a tenant's templates that it has a
// number to list them with.
func (s *Server) numberConnected(tenant uuid.UUID) {
	if s.cfg.NumberConnected != nil {
		s.cfg.NumberConnected(tenant)
	}
}
