// Package dberr is the one translation of PostgreSQL's errors into wam's
// domain errors: what the caller did wrong (a duplicate, a value the schema
// refuses) and what is nobody's fault but says "retry later" (the database
// is slow, restarting or away). Everything else stays an internal error.
package dberr

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wam-project/wam/domain"
)

// Translate returns err as a *domain.Error where PostgreSQL's answer has a
// meaning for the caller, with err as its Cause; nil and errors that are
// domain errors already are returned as they are, any other unchanged.
// Callers that know which constraint a conflict breaks say so themselves
// (Constraint) before falling back to this.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if Unavailable(err) {
		return &domain.Error{Code: domain.ErrUnavailable, Message: "the database is unavailable; retry later", Cause: err}
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch {
	case pgErr.Code == pgerrcode.UniqueViolation || pgErr.Code == pgerrcode.ExclusionViolation:
		return &domain.Error{Code: domain.ErrConflict, Message: "it exists already", Cause: err}
	case pgerrcode.IsDataException(pgErr.Code), pgErr.Code == pgerrcode.CheckViolation,
		pgErr.Code == pgerrcode.NotNullViolation, pgErr.Code == pgerrcode.ForeignKeyViolation:
		return &domain.Error{Code: domain.ErrInvalid, Message: "a value was refused by the database", Cause: err}
	}
	return err
}

// NotFound turns a query's "no row" (pgx.ErrNoRows) into the domain's
// "<what> not found"; any other err, nil included, is returned as it is.
func NotFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Errorf(domain.ErrNotFound, "%s not found", what)
	}
	return err
}

// Constraint is the constraint err breaks, "" when it is no integrity
// violation.
func Constraint(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgerrcode.IsIntegrityConstraintViolation(pgErr.Code) {
		return pgErr.ConstraintName
	}
	return ""
}

// Is reports whether err is PostgreSQL's error code (a pgerrcode constant).
func Is(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// Unavailable reports whether err says the database could not answer (in
// time) rather than refused the request: a deadline, a connection that
// failed or broke, a server shutting down or starting, too many
// connections, a transaction to retry. Such a request may succeed later.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgerrcode.IsConnectionException(pgErr.Code) || pgerrcode.IsInsufficientResources(pgErr.Code) ||
			pgerrcode.IsOperatorIntervention(pgErr.Code) || // shutting down, starting, a statement timeout
			pgErr.Code == pgerrcode.SerializationFailure || pgErr.Code == pgerrcode.DeadlockDetected
	}
	// A connection pgx found closed (after an earlier failure) or that broke
	// before any byte was sent: pgx says the request may be sent again.
	return pgconn.SafeToRetry(err)
}
