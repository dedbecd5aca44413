package accounts

import (
	"testing"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// TestMayManage: owners act on everyone else, admins on agents only, and
// nobody on the owner's account.
func TestMayManage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		by, target string
		ok         bool
	}{
		{auth.RoleOwner, auth.RoleAdmin, true},
		{auth.RoleOwner, auth.RoleAgent, true},
		{auth.RoleOwner, auth.RoleOwner, false},
		{auth.RoleAdmin, auth.RoleAgent, true},
		{auth.RoleAdmin, auth.RoleAdmin, false},
		{auth.RoleAdmin, auth.RoleOwner, false},
	} {
		t.Run(tc.by+" on "+tc.target, func(t *testing.T) {
			t.Parallel()
			err := mayManage(Actor{Role: tc.by}, db.User{Role: tc.target})
			if tc.ok != (err == nil) || (err != nil && domain.ErrorCode(err) != domain.ErrForbidden) {
				t.Errorf("mayManage: %v, want allowed %v", err, tc.ok)
			}
		})
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		" Ann@Example.COM ":      "ann@example.com",
		"ann@example":            "",
		"Ann <ann@example.com>":  "",
		"not an address":         "",
		"a@b.c":                  "a@b.c",
		"ann@@example.com":       "",
		"ann@example.com, b@c.d": "",
	} {
		got, err := validEmail(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("validEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
