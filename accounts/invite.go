package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
)

// InviteTTL is how long an invitation link can be used.
const InviteTTL = 7 * 24 * time.Hour

// Method is how a user gets in the first time, or again after a reset.
type Method string

// The methods of a Credential.
const (
	ByPassword Method = "password" // a one-time password that the inviter hands over
	ByLink     Method = "link"     // a token with which the user sets their own password
)

// Credential is how a user gets in: a one-time password, or a link's
// token. It is shown once, in the answer, and stored only as a hash.
type Credential struct {
	Method   Method
	Password string     // ByPassword: the one-time password
	Token    string     // ByLink: the link's token
	Expires  *time.Time // ByLink: when the token stops working
	hash     string     // of the password; with a link nobody ever sees it
}

// newCredential makes a credential of method ("": ByPassword) with a
// random password, hashed.
func (s *Service) newCredential(method Method) (Credential, error) {
	if method == "" {
		method = ByPassword
	}
	if method != ByPassword && method != ByLink {
		return Credential{}, domain.Errorf(domain.ErrInvalid, "invite: password or link")
	}
	password := rand.Text() // 26 base32 characters, 130 bits
	hash, err := auth.HashPassword(password, s.argon2)
	cr := Credential{Method: method, hash: hash}
	if method == ByPassword {
		cr.Password = password
	}
	return cr, err
}

// store records a link's token (hashed) for u, valid for InviteTTL.
func (cr *Credential) store(ctx context.Context, q *db.Queries, u db.User, now time.Time) error {
	if cr.Method != ByLink {
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
	cr.Token, cr.Expires = token, &expires
	return nil
}

// Invitation is a user to be made in the inviter's tenant.
type Invitation struct {
	Email, Name, Role string
	Method            Method
}

// Invite creates a user in by's tenant and returns, once, the credential
// with which they get in.
func (s *Service) Invite(ctx context.Context, by Actor, inv Invitation) (db.User, Credential, error) {
	email, err := validEmail(inv.Email)
	if err != nil {
		return db.User{}, Credential{}, err
	}
	// Addresses are unique across tenants, so an invitation's 409 tells
	// that an address has an account somewhere: limited per address, like
	// sign-ups.
	if !s.allowSignUp(email) {
		return db.User{}, Credential{}, ErrTooManyAttempts
	}
	inv.Name = strings.TrimSpace(inv.Name)
	if err := validText("name", inv.Name, 200); err != nil {
		return db.User{}, Credential{}, err
	}
	if err := validRole(inv.Role); err != nil {
		return db.User{}, Credential{}, err
	}
	cr, err := s.newCredential(inv.Method)
	if err != nil {
		return db.User{}, cr, err
	}
	var u db.User
	err = s.inTenant(ctx, by.TenantID, func(q *db.Queries) (err error) {
		u, err = q.CreateUser(ctx, db.CreateUserParams{
			ID: uuid.New(), TenantID: by.TenantID, Email: email, Name: inv.Name, PasswordHash: cr.hash, Role: inv.Role,
		})
		if err != nil {
			return err
		}
		if err := cr.store(ctx, q, u, s.now()); err != nil {
			return err
		}
		return Audit(ctx, q, by, by.TenantID, "user.invited", u.ID.String(), map[string]any{"email": u.Email, "role": u.Role, "by": cr.Method})
	})
	if dberr.Constraint(err) == emailTaken {
		return db.User{}, Credential{}, domain.Errorf(domain.ErrConflict, "email: an account with this address exists")
	}
	return u, cr, err
}

// AcceptInvite lets an invitee set their password with the invitation
// token, once and before it expires, and signs them in.
func (s *Service) AcceptInvite(ctx context.Context, by Actor, token, password string) (Session, error) {
	if err := validPassword("password", password); err != nil {
		return Session{}, err
	}
	hashed := auth.HashRefreshToken(token)
	usable := func(u db.User, err error) error {
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (u.InviteExpiresAt == nil || !s.now().Before(*u.InviteExpiresAt))) {
			return domain.Errorf(domain.ErrUnauthorized, "token: unknown, used or expired invitation; ask for a new one")
		}
		return err
	}
	// The token is checked before the password is hashed: a hash costs
	// 64 MiB and tens of milliseconds, not to be spent on a guess.
	if err := usable(s.q.UserByInvite(ctx, hashed)); err != nil {
		return Session{}, err
	}
	hash, err := auth.HashPassword(password, s.argon2)
	if err != nil {
		return Session{}, err
	}
	var sess Session
	err = s.inTx(ctx, func(q *db.Queries) (err error) {
		// Locks the user's row: accepting, like a refresh, holds the
		// user's sign-in lock.
		cur, err := q.UserByInviteForUpdate(ctx, hashed)
		if err := usable(cur, err); err != nil {
			return err
		}
		if cur.DisabledAt != nil {
			return domain.Errorf(domain.ErrUnauthorized, "account disabled")
		}
		// Setting the password ends whatever sign-ins the account had,
		// as a password change does, and uses up the link.
		sess, err = s.setOwnPassword(ctx, q, by, cur, hash, "user.invite_accepted")
		return err
	})
	return sess, err
}
