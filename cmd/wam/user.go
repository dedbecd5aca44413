package main

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/domain"
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
	if strings.TrimSpace(*email) == "" {
		return errors.New("--email is required")
	}
	d, err := openCommandDatabase(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer d.Close()

	u, cr, err := accounts.New(d.Pool, accounts.Options{}).OperatorResetPassword(ctx, *email)
	var de *domain.Error
	if errors.As(err, &de) {
		return errors.New(de.Message) // "no user has the address …": the operator's to fix
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, map[string]string{
		"tenant_id": u.TenantID.String(), "user_id": u.ID.String(), "email": u.Email, "role": u.Role, "temporary_password": cr.Password,
	})
}
