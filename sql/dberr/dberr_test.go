package dberr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/dberr"
)

func TestTranslate(t *testing.T) {
	t.Parallel()
	wrap := func(code, constraint string) error {
		return fmt.Errorf("insert: %w", &pgconn.PgError{Code: code, ConstraintName: constraint})
	}
	for _, tc := range []struct {
		name       string
		err        error
		code       string // of the translated error
		constraint string
	}{
		{"unique", wrap(pgerrcode.UniqueViolation, "users_email"), domain.ErrConflict, "users_email"},
		{"exclusion", wrap(pgerrcode.ExclusionViolation, "phone_numbers_waba_one_tenant"), domain.ErrConflict, "phone_numbers_waba_one_tenant"},
		{"foreign key", wrap(pgerrcode.ForeignKeyViolation, "phone_numbers_tenant_id_fkey"), domain.ErrInvalid, "phone_numbers_tenant_id_fkey"},
		{"data exception", wrap(pgerrcode.CharacterNotInRepertoire, ""), domain.ErrInvalid, ""},
		{"shutting down", wrap(pgerrcode.AdminShutdown, ""), domain.ErrUnavailable, ""},
		{"syntax", wrap(pgerrcode.SyntaxError, ""), domain.ErrInternal, ""},
		{"domain error", domain.Errorf(domain.ErrForbidden, "no"), domain.ErrForbidden, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.ErrorCode(dberr.Translate(tc.err)); got != tc.code {
				t.Errorf("Translate: code %q, want %q", got, tc.code)
			}
			if got := dberr.Constraint(tc.err); got != tc.constraint {
				t.Errorf("Constraint: %q, want %q", got, tc.constraint)
			}
		})
	}
	if !dberr.Is(wrap(pgerrcode.ExclusionViolation, ""), pgerrcode.ExclusionViolation) || dberr.Is(wrap(pgerrcode.UniqueViolation, ""), pgerrcode.ExclusionViolation) || dberr.Is(nil, pgerrcode.UniqueViolation) {
		t.Error("Is does not tell codes apart")
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	err := dberr.NotFound(fmt.Errorf("get user: %w", pgx.ErrNoRows), "user")
	if domain.ErrorCode(err) != domain.ErrNotFound || domain.ErrorMessage(err) != "user not found" {
		t.Errorf("no rows: %v", err)
	}
	other := errors.New("boom")
	if dberr.NotFound(other, "user") != other || dberr.NotFound(nil, "user") != nil {
		t.Error("other errors must pass unchanged")
	}
}
