package accounts

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
)

// setPassword is the one way a password is set: u gets the password of
// hash, a new session epoch (older access tokens stop) and no pending
// invitation link (which would set another password); every sign-in u had
// ends, since a password is set because the old one may be known to someone
// else, or was never u's; and action is recorded, in q's transaction.
func (s *Service) setPassword(ctx context.Context, q *db.Queries, by Actor, u db.User, hash, action string, detail map[string]any) (db.User, error) {
	u, err := q.SetPassword(ctx, db.SetPasswordParams{TenantID: u.TenantID, ID: u.ID, PasswordHash: hash})
	if err != nil {
		return u, err
	}
	if err := s.endSignIns(ctx, q, u); err != nil {
		return u, err
	}
	return u, Audit(ctx, q, by, u.TenantID, action, u.ID.String(), detail)
}

// setOwnPassword is setPassword by u themselves (a change, an accepted
// invitation): every other sign-in ends, and this one goes on with the
// returned session, of the new epoch.
func (s *Service) setOwnPassword(ctx context.Context, q *db.Queries, by Actor, u db.User, hash, action string) (Session, error) {
	u, err := s.setPassword(ctx, q, by, u, hash, action, nil)
	if err != nil {
		return Session{}, err
	}
	return s.newSession(ctx, q, u, uuid.New())
}

// ChangePassword lets a signed-in user change their password, given the
// current one. Every other sign-in of theirs ends (a password is changed
// because it may be known to someone else); this one goes on with the
// returned session.
func (s *Service) ChangePassword(ctx context.Context, by Actor, current, next string) (Session, error) {
	if by.UserID == uuid.Nil {
		return Session{}, domain.Errorf(domain.ErrForbidden, "an API key has no password: sign in as a user")
	}
	if err := validPassword("new_password", next); err != nil {
		return Session{}, err
	}
	var u db.User
	err := s.inTenant(ctx, by.TenantID, func(q *db.Queries) (err error) {
		u, err = q.UserByID(ctx, db.UserByIDParams{TenantID: by.TenantID, ID: by.UserID})
		return dberr.NotFound(err, "user")
	})
	if err != nil {
		return Session{}, err
	}
	if !s.allowSignIn(u.Email) {
		return Session{}, ErrTooManyAttempts
	}
	if len(current) > auth.MaxPasswordLen || auth.VerifyPassword(current, u.PasswordHash) != nil {
		if err := Audit(ctx, s.q, by, by.TenantID, "password_change_failed", u.ID.String(), nil); err != nil {
			return Session{}, err
		}
		return Session{}, domain.Errorf(domain.ErrInvalid, "current_password: does not match")
	}
	hash, err := auth.HashPassword(next, s.argon2)
	if err != nil {
		return Session{}, err
	}
	var sess Session
	err = s.inTenant(ctx, by.TenantID, func(q *db.Queries) (err error) {
		sess, err = s.setOwnPassword(ctx, q, by, u, hash, "password_changed")
		return err
	})
	return sess, err
}

// ResetPassword is for a user who forgot their password: the old one stops
// working, every sign-in of theirs ends, and the answer holds a new
// one-time password or link token (by method). The owner resets admins'
// and agents', admins agents'; nobody the owner's, nor their own.
func (s *Service) ResetPassword(ctx context.Context, by Actor, id uuid.UUID, method Method) (db.User, Credential, error) {
	if id == by.UserID {
		return db.User{}, Credential{}, domain.Errorf(domain.ErrForbidden, "change your own password at /api/auth/password")
	}
	cr, err := s.newCredential(method)
	if err != nil {
		return db.User{}, cr, err
	}
	var u db.User
	err = s.inTenant(ctx, by.TenantID, func(q *db.Queries) error {
		cur, err := q.UserByID(ctx, db.UserByIDParams{TenantID: by.TenantID, ID: id})
		if err != nil {
			return dberr.NotFound(err, "user")
		}
		if err := mayManage(by, cur); err != nil {
			return err
		}
		if u, err = s.setPassword(ctx, q, by, cur, cr.hash, "user.password_reset", map[string]any{"by": cr.Method}); err != nil {
			return err
		}
		return cr.store(ctx, q, u, s.now())
	})
	return u, cr, err
}

// OperatorResetPassword is the operator's way back in for a user nobody in
// the tenant can reset (the owner, who alone may reset admins): a new
// one-time password; the old password and every sign-in of the user end, as
// with ResetPassword. The operator is trusted: who may act on whom does not
// apply.
func (s *Service) OperatorResetPassword(ctx context.Context, email string) (db.User, Credential, error) {
	email = normalEmail(email)
	cr, err := s.newCredential(ByPassword)
	if err != nil {
		return db.User{}, cr, err
	}
	var u db.User
	err = s.inTx(ctx, func(q *db.Queries) error {
		cur, err := q.UserByEmail(ctx, email)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Errorf(domain.ErrNotFound, "no user has the address %s", email)
		}
		if err != nil {
			return err
		}
		u, err = s.setPassword(ctx, q, Actor{}, cur, cr.hash, "user.password_reset", map[string]any{"by": "operator"})
		return err
	})
	return u, cr, err
}
