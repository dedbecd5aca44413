package domain

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	t.Parallel()
	wrapped := fmt.Errorf("send message: %w", Errorf(ErrWindowClosed, "the 24-hour window closed %d hours ago", 3))
	tests := []struct {
		name          string
		err           error
		code, message string
	}{
		{"nil", nil, "", ""},
		{"domain error", Errorf(ErrNotFound, "conversation %s not found", "c1"), ErrNotFound, "conversation c1 not found"},
		{"wrapped", wrapped, ErrWindowClosed, "the 24-hour window closed 3 hours ago"},
		{"sentinel", fmt.Errorf("parse: %w", ErrInvalidPhone), ErrInvalid, "invalid phone number"},
		{"other error", errors.New("connection refused"), ErrInternal, "Internal error."},
	}
	for _, tt := range tests {
		if got := ErrorCode(tt.err); got != tt.code {
			t.Errorf("%s: ErrorCode = %q, want %q", tt.name, got, tt.code)
		}
		if got := ErrorMessage(tt.err); got != tt.message {
			t.Errorf("%s: ErrorMessage = %q, want %q", tt.name, got, tt.message)
		}
	}
	if got := Errorf(ErrConflict, "already %s", "sent").Error(); got != "conflict: already sent" {
		t.Errorf("Error() = %q", got)
	}
}
