package api

import (
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/auth"
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

// UserAdmin is a user as their tenant's admins see them.
type UserAdmin struct {
	User
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
	Disabled    bool       `json:"disabled"`
	// TemporaryPassword is shown once, in the answer to an invitation by
	// password.
	TemporaryPassword string `json:"temporary_password,omitempty"`
	// InviteToken is shown once, in the answer to an invitation by link: the
	// invitee sets a password with it at POST /api/auth/accept-invite.
	InviteToken     string     `json:"invite_token,omitempty"`
	InviteExpiresAt *time.Time `json:"invite_expires_at,omitempty"`
}

// InviteTTL is how long an invitation link can be used.
const InviteTTL = 7 * 24 * time.Hour

func userAdminOf(u db.User) UserAdmin {
	return UserAdmin{User: userOf(u), CreatedAt: u.CreatedAt.UTC(), LastLoginAt: utc(u.LastLoginAt), Disabled: u.DisabledAt != nil}
}

type inviteRequest struct {
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Invite string `json:"invite"` // "password" (default) or "link"
}

// inviteUser creates a user and answers, once, either a one-time password
// for the inviter to hand over or a link token with which the invitee sets
// their own password.
func (s *Server) inviteUser(c echo.Context) error {
	p := principal(c)
	var r inviteRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	email, err := validEmail(r.Email)
	if err != nil {
		return err
	}
	r.Name = strings.TrimSpace(r.Name)
	if err := validText("name", r.Name, 200); err != nil {
		return err
	}
	if r.Role != auth.RoleAdmin && r.Role != auth.RoleAgent {
		return domain.Errorf(domain.ErrInvalid, "role: admin or agent")
	}
	if r.Invite == "" {
		r.Invite = "password"
	}
	if r.Invite != "password" && r.Invite != "link" {
		return domain.Errorf(domain.ErrInvalid, "invite: password or link")
	}
	password := rand.Text() // 26 base32 characters, 130 bits; with a link, nobody ever sees it
	hash, err := auth.HashPassword(password, s.argon2)
	if err != nil {
		return err
	}
	var (
		u             db.User
		inviteToken   string
		inviteExpires *time.Time
	)
	err = s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		u, err = q.CreateUser(c.Request().Context(), db.CreateUserParams{
			ID: uuid.New(), TenantID: p.TenantID, Email: email, Name: r.Name, PasswordHash: hash, Role: r.Role,
		})
		if err != nil {
			return err
		}
		if r.Invite == "link" {
			token, hash, err := auth.NewRefreshToken() // the same kind of opaque secret
			if err != nil {
				return err
			}
			expires := s.now().Add(InviteTTL).UTC()
			if err := q.SetInvite(c.Request().Context(), db.SetInviteParams{TenantID: p.TenantID, ID: u.ID, InviteHash: hash, ExpiresAt: expires}); err != nil {
				return err
			}
			inviteToken, inviteExpires = token, &expires
		}
		return s.audit(c.Request().Context(), q, c, p.TenantID, "user.invited", u.ID.String(), map[string]any{"email": u.Email, "role": u.Role, "by": r.Invite})
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return domain.Errorf(domain.ErrConflict, "email: an account with this address exists")
	}
	if err != nil {
		return err
	}
	out := userAdminOf(u)
	if r.Invite == "link" {
		out.InviteToken, out.InviteExpiresAt = inviteToken, inviteExpires
	} else {
		out.TemporaryPassword = password
	}
	return c.JSON(http.StatusCreated, out)
}

func (s *Server) listUsers(c echo.Context) error {
	p := principal(c)
	var us []db.User
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		us, err = q.ListUsers(c.Request().Context(), p.TenantID)
		return err
	})
	if err != nil {
		return err
	}
	out := make([]UserAdmin, len(us))
	for i, u := range us {
		out[i] = userAdminOf(u)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

type updateUserRequest struct {
	Name     *string `json:"name"`
	Role     *string `json:"role"`
	Disabled *bool   `json:"disabled"`
}

func (s *Server) updateUser(c echo.Context) error {
	p := principal(c)
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	var r updateUserRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.Name != nil {
		*r.Name = strings.TrimSpace(*r.Name)
		if err := validText("name", *r.Name, 200); err != nil {
			return err
		}
	}
	if r.Role != nil && *r.Role != auth.RoleAdmin && *r.Role != auth.RoleAgent {
		return domain.Errorf(domain.ErrInvalid, "role: admin or agent")
	}
	if id == p.UserID && (r.Role != nil || r.Disabled != nil) {
		return domain.Errorf(domain.ErrForbidden, "you cannot change your own role or disable yourself")
	}
	ctx := c.Request().Context()
	var u db.User
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		cur, err := q.UserByID(ctx, db.UserByIDParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "user")
		}
		if cur.Role == auth.RoleOwner && (r.Role != nil || r.Disabled != nil) {
			return domain.Errorf(domain.ErrForbidden, "the owner's role cannot be changed, nor the owner disabled")
		}
		u, err = q.UpdateUser(ctx, db.UpdateUserParams{TenantID: p.TenantID, ID: id, Name: r.Name, Role: r.Role, Disabled: r.Disabled})
		if err != nil {
			return err
		}
		return s.audit(ctx, q, c, p.TenantID, "user.changed", u.ID.String(), map[string]any{"role": u.Role, "disabled": u.DisabledAt != nil, "name": u.Name})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userAdminOf(u))
}

func (s *Server) deleteUser(c echo.Context) error {
	p := principal(c)
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	if id == p.UserID {
		return domain.Errorf(domain.ErrForbidden, "you cannot delete yourself")
	}
	ctx := c.Request().Context()
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		cur, err := q.UserByID(ctx, db.UserByIDParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "user")
		}
		if cur.Role == auth.RoleOwner {
			return domain.Errorf(domain.ErrForbidden, "the owner cannot be deleted")
		}
		if _, err := q.DeleteUser(ctx, db.DeleteUserParams{TenantID: p.TenantID, ID: id}); err != nil {
			return err
		}
		return s.audit(ctx, q, c, p.TenantID, "user.deleted", id.String(), map[string]any{"email": cur.Email})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
