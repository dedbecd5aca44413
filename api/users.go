package api

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
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

// InviteTTL is how long an invitation link can be used.
const InviteTTL = 7 * 24 * time.Hour

func userAdminOf(u db.User) apigen.UserAdmin {
	return apigen.UserAdmin{Id: u.ID, TenantId: u.TenantID, Email: u.Email, Name: u.Name, Role: apigen.Role(u.Role),
		CreatedAt: u.CreatedAt.UTC(), LastLoginAt: null(utc(u.LastLoginAt)), Disabled: u.DisabledAt != nil}
}

// InviteUser creates a user and answers, once, either a one-time password
// for the inviter to hand over or a link token with which the invitee sets
// their own password.
func (s handlers) InviteUser(c echo.Context) error {
	p := principal(c)
	var r apigen.InviteRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	email, err := validEmail(r.Email)
	if err != nil {
		return err
	}
	// Addresses are unique across tenants, so an invitation's 409 tells
	// that an address has an account somewhere: limited per address, like
	// sign-ups.
	if ok, _ := s.registerLimits.Allow(email); !ok {
		return errTooMany(c)
	}
	r.Name = strings.TrimSpace(r.Name)
	if err := validText("name", r.Name, 200); err != nil {
		return err
	}
	if !r.Role.Valid() {
		return domain.Errorf(domain.ErrInvalid, "role: admin or agent")
	}
	cr, err := s.newCredential(r.Invite)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var u db.User
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) (err error) {
		u, err = q.CreateUser(ctx, db.CreateUserParams{
			ID: uuid.New(), TenantID: p.TenantID, Email: email, Name: r.Name, PasswordHash: cr.hash, Role: string(r.Role),
		})
		if err != nil {
			return err
		}
		if err := cr.store(ctx, q, u, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, q, c, p.TenantID, "user.invited", u.ID.String(), map[string]any{"email": u.Email, "role": u.Role, "by": cr.by})
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return domain.Errorf(domain.ErrConflict, "email: an account with this address exists")
	}
	if err != nil {
		return err
	}
	out := userAdminOf(u)
	cr.show(&out)
	return c.JSON(http.StatusCreated, out)
}

// credential is how a user gets in the first time, or again after a reset:
// a one-time password that the admin hands over, or a link token with which
// they set their own. It is shown once, in the answer.
type credential struct {
	by       apigen.InviteMethod
	password string // random; with a link nobody ever sees it
	hash     string // of password
	token    string // the link's, once stored
	expires  *time.Time
}

func (s *Server) newCredential(by *apigen.InviteMethod) (credential, error) {
	cr := credential{by: deref(by), password: rand.Text()} // 26 base32 characters, 130 bits
	if cr.by == "" {
		cr.by = apigen.InviteMethodPassword
	}
	if !cr.by.Valid() {
		return cr, domain.Errorf(domain.ErrInvalid, "invite: password or link")
	}
	var err error
	cr.hash, err = auth.HashPassword(cr.password, s.argon2)
	return cr, err
}

// store records a link's token (hashed) for u, valid for InviteTTL.
func (cr *credential) store(ctx context.Context, q *db.Queries, u db.User, now time.Time) error {
	if cr.by != apigen.InviteMethodLink {
		return nil
	}
	token, hash, err := auth.NewRefreshToken() // the same kind of opaque secret
	if err != nil {
		return err
	}
	expires := now.Add(InviteTTL).UTC()
	if err := q.SetInvite(ctx, db.SetInviteParams{TenantID: u.TenantID, ID: u.ID, InviteHash: hash, ExpiresAt: expires}); err != nil {
		return err
	}
	cr.token, cr.expires = token, &expires
	return nil
}

// show puts the credential in the answer about its user.
func (cr credential) show(out *apigen.UserAdmin) {
	if cr.by == apigen.InviteMethodLink {
		out.InviteToken, out.InviteExpiresAt = cr.token, cr.expires
	} else {
		out.TemporaryPassword = cr.password
	}
}

// ResetPassword is for a user who forgot their password: the old one stops
// working, every sign-in of theirs ends, and the answer holds a new
// one-time password or link token. The owner resets admins' and agents',
// admins agents'; nobody the owner's, nor their own.
func (s handlers) ResetPassword(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	var r apigen.ResetPasswordRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if id == p.UserID {
		return domain.Errorf(domain.ErrForbidden, "change your own password at /api/auth/password")
	}
	cr, err := s.newCredential(r.Invite)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var u db.User
	err = s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		cur, err := q.UserByID(ctx, db.UserByIDParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "user")
		}
		if err := mayManage(p, cur); err != nil {
			return err
		}
		if u, err = q.SetPassword(ctx, db.SetPasswordParams{TenantID: p.TenantID, ID: id, PasswordHash: cr.hash}); err != nil {
			return err
		}
		if err := q.RevokeUserRefreshTokens(ctx, db.RevokeUserRefreshTokensParams{TenantID: p.TenantID, UserID: id, At: s.now()}); err != nil {
			return err
		}
		if err := cr.store(ctx, q, u, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, q, c, p.TenantID, "user.password_reset", id.String(), map[string]any{"by": cr.by})
	})
	if err != nil {
		return err
	}
	out := userAdminOf(u)
	cr.show(&out)
	return c.JSON(http.StatusOK, out)
}

// ListUsers lists the tenant's users.
func (s handlers) ListUsers(c echo.Context) error {
	p := principal(c)
	var us []db.User
	err := s.inTenant(c.Request().Context(), p.TenantID, func(q *db.Queries) (err error) {
		us, err = q.ListUsers(c.Request().Context(), p.TenantID)
		return err
	})
	if err != nil {
		return err
	}
	out := apigen.UserList{Data: make([]apigen.UserAdmin, len(us))}
	for i, u := range us {
		out.Data[i] = userAdminOf(u)
	}
	return c.JSON(http.StatusOK, out)
}

// mayManage says whether p may change, reset or delete target. Nobody acts
// on the owner's account: it changes through the owner's own sign-in. Only
// the owner acts on admins, so that an admin can neither lock another admin
// out nor take their account over (demote, reset the password, promote).
func mayManage(p Principal, target db.User) error {
	switch {
	case target.Role == auth.RoleOwner:
		return domain.Errorf(domain.ErrForbidden, "the owner's account is the owner's to change")
	case target.Role == auth.RoleAdmin && p.Role != auth.RoleOwner:
		return domain.Errorf(domain.ErrForbidden, "only the owner changes, resets or deletes an admin")
	}
	return nil
}

// UpdateUser renames, changes the role of, disables or enables a user.
func (s handlers) UpdateUser(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	var r apigen.UpdateUserRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.Name != nil {
		*r.Name = strings.TrimSpace(*r.Name)
		if err := validText("name", *r.Name, 200); err != nil {
			return err
		}
	}
	var role *string
	if r.Role != nil {
		if !r.Role.Valid() {
			return domain.Errorf(domain.ErrInvalid, "role: admin or agent")
		}
		role = (*string)(r.Role)
	}
	if id == p.UserID && (r.Role != nil || r.Disabled != nil) {
		return domain.Errorf(domain.ErrForbidden, "you cannot change your own role or disable yourself")
	}
	ctx := c.Request().Context()
	var u db.User
	err := s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		cur, err := q.UserByID(ctx, db.UserByIDParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "user")
		}
		if id != p.UserID { // renaming oneself is always allowed
			if err := mayManage(p, cur); err != nil {
				return err
			}
		}
		u, err = q.UpdateUser(ctx, db.UpdateUserParams{TenantID: p.TenantID, ID: id, Name: r.Name, Role: role, Disabled: r.Disabled})
		if err != nil {
			return err
		}
		if u.DisabledAt != nil && cur.DisabledAt == nil {
			// Enabling the account again must not bring these back.
			if err := q.RevokeUserRefreshTokens(ctx, db.RevokeUserRefreshTokensParams{TenantID: p.TenantID, UserID: id, At: s.now()}); err != nil {
				return err
			}
		}
		return s.audit(ctx, q, c, p.TenantID, "user.changed", u.ID.String(), map[string]any{"role": u.Role, "disabled": u.DisabledAt != nil, "name": u.Name})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userAdminOf(u))
}

// DeleteUser removes a user; the owner cannot be removed.
func (s handlers) DeleteUser(c echo.Context, id uuid.UUID) error {
	p := principal(c)
	if id == p.UserID {
		return domain.Errorf(domain.ErrForbidden, "you cannot delete yourself")
	}
	ctx := c.Request().Context()
	err := s.inTenant(ctx, p.TenantID, func(q *db.Queries) error {
		cur, err := q.UserByID(ctx, db.UserByIDParams{TenantID: p.TenantID, ID: id})
		if err != nil {
			return notFound(err, "user")
		}
		if err := mayManage(p, cur); err != nil {
			return err
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
