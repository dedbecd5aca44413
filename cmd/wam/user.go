package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/sql/db"
)

// userResetPassword is the operator's way back in for a user nobody in the
// tenant can reset (the owner, who alone may reset admins): a new one-time
// password, printed once; the old password and every sign-in of the user
// end, as with POST /api/users/{id}/reset-password.
func userResetPassword(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("user reset-password", stderr)
	cfg.register(fs, getenv)
	email := fs.String("email", "", "the user's email `address` (required)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	*email = strings.ToLower(strings.TrimSpace(*email))
	if *email == "" {
		return errors.New("--email is required")
	}
	d, err := openCommandDatabase(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer d.Close()

	password := rand.Text()
	hash, err := auth.HashPassword(password, auth.DefaultArgon2)
	if err != nil {
		return err
	}
	var u db.User
	err = pgx.BeginTxFunc(ctx, d.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := db.New(tx)
		cur, err := q.UserByEmail(ctx, *email)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no user has the address %s", *email)
		}
		if err != nil {
			return err
		}
		if u, err = q.SetPassword(ctx, db.SetPasswordParams{TenantID: cur.TenantID, ID: cur.ID, PasswordHash: hash}); err != nil {
			return err
		}
		if err := q.RevokeUserRefreshTokens(ctx, db.RevokeUserRefreshTokensParams{TenantID: u.TenantID, UserID: u.ID, At: time.Now()}); err != nil {
			return err
		}
		return q.InsertAudit(ctx, db.InsertAuditParams{
			TenantID: u.TenantID, Action: "user.password_reset", Target: u.ID.String(),
			Detail: []byte(`{"by":"operator"}`), RequestID: "", Ip: "",
		})
	})
	if err != nil {
		return err
	}
	return printJSON(stdout, map[string]string{
		"tenant_id": u.TenantID.String(), "user_id": u.ID.String(), "email": u.Email, "role": u.Role, "temporary_password": password,
	})
}
