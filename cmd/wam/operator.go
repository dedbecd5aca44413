package main

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/ops"
)

// operatorCreate makes an operator: someone who runs this installation,
// above tenants, and signs in at POST /api/ops/auth/login. The one-time
// password is printed once.
func operatorCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("operator create", stderr)
	cfg.register(fs, getenv)
	email := fs.String("email", "", "the operator's email `address` (required)")
	name := fs.String("name", "", "the operator's `name`")
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
	op, password, err := ops.New(d.Pool, nil, nil, ops.Options{}).CreateOperator(ctx, *email, *name)
	var de *domain.Error
	if errors.As(err, &de) {
		return errors.New(de.Message)
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, map[string]string{"operator_id": op.ID.String(), "email": op.Email, "role": "operator", "temporary_password": password})
}
