package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// tenantSettingsOf is a tenant as its people see it; the branding (how
// their inbox looks) is stored as the JSON of apigen.Branding.
func tenantSettingsOf(t db.Tenant) apigen.Tenant {
	out := apigen.Tenant{Id: t.ID, Name: t.Name, Plan: t.Plan}
	out.Limits.ApiRequestsPerMinute = t.ApiRequestsPerMinute
	_ = json.Unmarshal(t.Branding, &out.Branding)
	return out
}

// GetTenant shows the tenant's settings.
func (s handlers) GetTenant(c echo.Context) error {
	p := principal(c)
	var t db.Tenant
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		t, err = q.GetTenant(c.Request().Context(), p.TenantID)
		return notFound(err, "tenant")
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tenantSettingsOf(t))
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// PutTenant changes the name and branding; the plan and its limits are the
// operator's to set.
func (s handlers) PutTenant(c echo.Context) error {
	p := principal(c)
	var r apigen.PutTenantRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	r.Name = strings.TrimSpace(r.Name)
	if err := validText("name", r.Name, 200); err != nil {
		return err
	}
	b := deref(r.Branding)
	if len([]rune(b.AppName)) > 60 {
		return domain.Errorf(domain.ErrInvalid, "branding.app_name: at most 60 characters")
	}
	if b.LogoUrl != "" {
		u, err := url.Parse(b.LogoUrl)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(b.LogoUrl) > 2048 {
			return domain.Errorf(domain.ErrInvalid, "branding.logo_url: an https URL of at most 2048 characters")
		}
	}
	for field, v := range map[string]string{"branding.primary_color": b.PrimaryColor, "branding.accent_color": b.AccentColor} {
		if v != "" && !hexColor.MatchString(v) {
			return domain.Errorf(domain.ErrInvalid, "%s: a colour as #rrggbb", field)
		}
	}
	if b.Theme != "" && !b.Theme.Valid() {
		return domain.Errorf(domain.ErrInvalid, "branding.theme: light or dark")
	}
	branding, err := json.Marshal(b)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var t db.Tenant
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) (err error) {
		t, err = q.UpdateTenant(ctx, db.UpdateTenantParams{ID: p.TenantID, Name: r.Name, Branding: branding})
		if err != nil {
			return notFound(err, "tenant")
		}
		return s.audit(ctx, q, c, p.TenantID, "tenant.changed", p.TenantID.String(), map[string]any{"name": t.Name})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tenantSettingsOf(t))
}
