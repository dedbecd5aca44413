package api

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// requireRole lets through principals with one of roles; others get 403.
func requireRole(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principal(c)
			for _, r := range roles {
				if p.Role == r {
					return next(c)
				}
			}
			return domain.Errorf(domain.ErrForbidden, "this needs the role %s", strings.Join(roles, " or "))
		}
	}
}

func userAdminOf(u db.User) apigen.UserAdmin {
	return apigen.UserAdmin{Id: u.ID, TenantId: u.TenantID, Email: u.Email, Name: u.Name, Role: apigen.Role(u.Role),
		CreatedAt: u.CreatedAt.UTC(), LastLoginAt: null(utc(u.LastLoginAt)), Disabled: u.DisabledAt != nil}
}

// InviteUser creates a user and answers, once, either a one-time password
// for the inviter to hand over or a link token with which the invitee sets
// their own password.
func (s handlers) InviteUser(c echo.Context) error {
	var r apigen.InviteRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	u, cr, err := s.accounts.Invite(c.Request().Context(), actor(c), accounts.Invitation{
		Email: r.Email, Name: r.Name, Role: string(r.Role), Method: accounts.Method(deref(r.Invite)),
	})
	if err != nil {
		return limited(c, err)
	}
	return c.JSON(http.StatusCreated, withCredential(userAdminOf(u), cr))
}

// withCredential is out with the credential its user gets in with, which
// is shown in this answer only.
func withCredential(out apigen.UserAdmin, cr accounts.Credential) apigen.UserAdmin {
	if cr.Method == accounts.ByLink {
		out.InviteToken, out.InviteExpiresAt = cr.Token, cr.Expires
	} else {
		out.TemporaryPassword = cr.Password
	}
	return out
}

// ResetPassword is for a user who forgot their password: the answer holds
// a new one-time password or link token.
func (s handlers) ResetPassword(c echo.Context, id uuid.UUID) error {
	var r apigen.ResetPasswordRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	u, cr, err := s.accounts.ResetPassword(c.Request().Context(), actor(c), id, accounts.Method(deref(r.Invite)))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, withCredential(userAdminOf(u), cr))
}

// ListUsers lists the tenant's users.
func (s handlers) ListUsers(c echo.Context) error {
	us, err := s.tenantUsers(c)
	if err != nil {
		return err
	}
	out := apigen.UserList{Data: make([]apigen.UserAdmin, len(us))}
	for i, u := range us {
		out.Data[i] = userAdminOf(u)
	}
	return c.JSON(http.StatusOK, out)
}

// tenantUsers are every user of the caller's tenant.
func (s handlers) tenantUsers(c echo.Context) (us []db.User, err error) {
	p := principal(c)
	err = s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		us, err = q.ListUsers(c.Request().Context(), p.TenantID)
		return err
	})
	return us, err
}

// ListTeammates lists the tenant's users who are not disabled, with only
// what an agent may see of them.
func (s handlers) ListTeammates(c echo.Context) error {
	us, err := s.tenantUsers(c)
	if err != nil {
		return err
	}
	out := apigen.TeammateList{Data: []apigen.Teammate{}}
	for _, u := range us {
		if u.DisabledAt == nil {
			out.Data = append(out.Data, apigen.Teammate{Id: u.ID, Name: u.Name, Role: apigen.Role(u.Role)})
		}
	}
	return c.JSON(http.StatusOK, out)
}

// UpdateUser renames, changes the role of, disables or enables a user.
func (s handlers) UpdateUser(c echo.Context, id uuid.UUID) error {
	var r apigen.UpdateUserRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	u, err := s.accounts.UpdateUser(c.Request().Context(), actor(c), id, accounts.Change{
		Name: r.Name, Role: (*string)(r.Role), Disabled: r.Disabled,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userAdminOf(u))
}

// DeleteUser removes a user; the owner cannot be removed.
func (s handlers) DeleteUser(c echo.Context, id uuid.UUID) error {
	if err := s.accounts.DeleteUser(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
