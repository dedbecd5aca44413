package domain

import (
	"errors"
	"fmt"
)

// Error codes name what went wrong in terms a caller can act on. The HTTP
// layer maps each to a status and only ErrInternal is logged in detail: the
// others are the caller's to fix, not ours.
const (
	ErrConflict     = "conflict"      // the state does not allow it (duplicate, stale version)
	ErrForbidden    = "forbidden"     // authenticated, but not allowed to
	ErrInternal     = "internal"      // a bug or an unexpected failure
	ErrInvalid      = "invalid"       // the input is wrong
	ErrNotFound     = "not_found"     // no such thing, or not visible to the caller
	ErrTooMany      = "too_many"      // a rate limit: retry later
	ErrUnauthorized = "unauthorized"  // not authenticated
	ErrUnavailable  = "unavailable"   // a dependency is down: retry later
	ErrWindowClosed = "window_closed" // the 24-hour customer-service window is closed: send a template
	// ErrKeyReused: an Idempotency-Key sent again with another request.
	ErrKeyReused = "idempotency_key_reused"
)

// Error is a failure the application expects and can explain: a code from the
// list above and a message meant for the end user.
type Error struct {
	Code    string
	Message string
	// Cause is the error behind it, for logs and errors.Is; never shown to
	// the end user.
	Cause error
}

// Error gives the code, the message and the cause, for logs.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap is the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf is an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode is the code of the first *Error in err's chain; "" for nil and
// ErrInternal for any other error, since an error nobody anticipated is ours.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrInternal
}

// ErrorMessage is the message of the first *Error in err's chain; "" for nil
// and a generic text for any other error, whose details must not leak to the
// end user.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
