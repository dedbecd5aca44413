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

// emailTaken is the unique index of users' addresses (migration 00003):
// an address has one account, across tenants.
const emailTaken = "users_email"

// Registration is a new tenant and its owner.
type Registration struct {
	TenantName, Name, Email, Password string
}

// Register creates a tenant and its owner, and signs the owner in.
func (s *Service) Register(ctx context.Context, r Registration) (Session, error) {
	r.TenantName, r.Name = strings.TrimSpace(r.TenantName), strings.TrimSpace(r.Name)
	email, err := validEmail(r.Email)
	if err != nil {
		return Session{}, err
	}
	// Per address of the account too: a sign-up tells whether an account
	// exists (409), so probing one address is slowed down like guessing.
	if !s.allowSignUp(email) {
		return Session{}, ErrTooManyAttempts
	}
	if err := validText("tenant_name", r.TenantName, 200); err != nil {
		return Session{}, err
	}
	if err := validText("name", r.Name, 200); err != nil {
		return Session{}, err
	}
	if err := validPassword("password", r.Password); err != nil {
		return Session{}, err
	}
	hash, err := auth.HashPassword(r.Password, s.argon2)
	if err != nil {
		return Session{}, err
	}
	var u db.User
	err = s.inTx(ctx, func(q *db.Queries) error {
		t, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: r.TenantName})
		if err != nil {
			return err
		}
		u, err = q.CreateUser(ctx, db.CreateUserParams{
			ID: uuid.New(), TenantID: t.ID, Email: email, Name: r.Name, PasswordHash: hash, Role: auth.RoleOwner,
		})
		return err
	})
	if dberr.Constraint(err) == emailTaken {
		return Session{}, domain.Errorf(domain.ErrConflict, "email: an account with this address exists; sign in instead")
	}
	if err != nil {
		return Session{}, err
	}
	return s.signIn(ctx, u)
}
