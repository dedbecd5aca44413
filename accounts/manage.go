package accounts

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
)

// mayManage says whether by may change, reset or delete target. Nobody acts
// on the owner's account: it changes through the owner's own sign-in. Only
// the owner acts on admins, so that an admin can neither lock another admin
// out nor take their account over (demote, reset the password, promote).
func mayManage(by Actor, target db.User) error {
	switch {
	case target.Role == auth.RoleOwner:
		return domain.Errorf(domain.ErrForbidden, "the owner's account is the owner's to change")
	case target.Role == auth.RoleAdmin && by.Role != auth.RoleOwner:
		return domain.Errorf(domain.ErrForbidden, "only the owner changes, resets or deletes an admin")
	}
	return nil
}

// Change is what UpdateUser changes; nil fields stay as they are.
type Change struct {
	Name     *string
	Role     *string
	Disabled *bool
}

// UpdateUser renames, changes the role of, disables or enables a user of
// by's tenant. Disabling ends the user's sign-ins.
func (s *Service) UpdateUser(ctx context.Context, by Actor, id uuid.UUID, ch Change) (db.User, error) {
	if ch.Name != nil {
		name := strings.TrimSpace(*ch.Name)
		if err := validText("name", name, 200); err != nil {
			return db.User{}, err
		}
		ch.Name = &name
	}
	if ch.Role != nil {
		if err := validRole(*ch.Role); err != nil {
			return db.User{}, err
		}
	}
	if id == by.UserID && (ch.Role != nil || ch.Disabled != nil) {
		return db.User{}, domain.Errorf(domain.ErrForbidden, "you cannot change your own role or disable yourself")
	}
	var u db.User
	err := s.inTenant(ctx, by.TenantID, func(q *db.Queries) error {
		cur, err := q.UserByID(ctx, db.UserByIDParams{TenantID: by.TenantID, ID: id})
		if err != nil {
			return dberr.NotFound(err, "user")
		}
		if id != by.UserID { // renaming oneself is always allowed
			if err := mayManage(by, cur); err != nil {
				return err
			}
		}
		u, err = q.UpdateUser(ctx, db.UpdateUserParams{TenantID: by.TenantID, ID: id, Name: ch.Name, Role: ch.Role, Disabled: ch.Disabled})
		if err != nil {
			return err
		}
		if u.DisabledAt != nil && cur.DisabledAt == nil {
			// Enabling the account again must not bring these back.
			if err := s.endSignIns(ctx, q, u); err != nil {
				return err
			}
		}
		return Audit(ctx, q, by, by.TenantID, "user.changed", u.ID.String(), map[string]any{"role": u.Role, "disabled": u.DisabledAt != nil, "name": u.Name})
	})
	if err == nil {
		s.keys.Changed() // the user's API keys follow their role and state
	}
	return u, err
}

// DeleteUser removes a user of by's tenant; nobody removes themselves or
// the owner.
func (s *Service) DeleteUser(ctx context.Context, by Actor, id uuid.UUID) error {
	if id == by.UserID {
		return domain.Errorf(domain.ErrForbidden, "you cannot delete yourself")
	}
	err := s.inTenant(ctx, by.TenantID, func(q *db.Queries) error {
		cur, err := q.UserByID(ctx, db.UserByIDParams{TenantID: by.TenantID, ID: id})
		if err != nil {
			return dberr.NotFound(err, "user")
		}
		if err := mayManage(by, cur); err != nil {
			return err
		}
		if _, err := q.DeleteUser(ctx, db.DeleteUserParams{TenantID: by.TenantID, ID: id}); err != nil {
			return err
		}
		return Audit(ctx, q, by, by.TenantID, "user.deleted", id.String(), map[string]any{"email": cur.Email})
	})
	if err == nil {
		s.keys.Changed()
	}
	return err
}
