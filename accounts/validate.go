package accounts

import (
	"net/mail"
	"strings"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
)

// validEmail is s as accounts store addresses (trimmed, lower case), or an
// error when it is no address.
func validEmail(s string) (string, error) {
	s = normalEmail(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", domain.Errorf(domain.ErrInvalid, "email: not an email address")
	}
	return s, nil
}

// normalEmail is how addresses are stored and looked up: without the
// spaces around them, in lower case.
func normalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validText checks a name: 1 to max characters.
func validText(field, s string, max int) error {
	if s == "" || len([]rune(s)) > max {
		return domain.Errorf(domain.ErrInvalid, "%s: 1 to %d characters", field, max)
	}
	return nil
}

func validPassword(field, p string) error {
	if n := len([]rune(p)); n < auth.MinPasswordLen || len(p) > auth.MaxPasswordLen {
		return domain.Errorf(domain.ErrInvalid, "%s: %d to %d characters", field, auth.MinPasswordLen, auth.MaxPasswordLen)
	}
	return nil
}

// validRole checks a role that can be given: the owner's is not.
func validRole(r string) error {
	if r != auth.RoleAdmin && r != auth.RoleAgent {
		return domain.Errorf(domain.ErrInvalid, "role: admin or agent")
	}
	return nil
}
