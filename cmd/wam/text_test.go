package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/wam-project/wam/sql/pgtest"
)

// TestCommandsRefuseUnstorableText: a flag whose value is not UTF-8 (or
// holds a NUL) is refused with an error naming it, before anything is
// written; PostgreSQL would have refused it with a bare SQLSTATE, or the
// command would have answered beside the point.
func TestCommandsRefuseUnstorableText(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "WAM_DATA_DIR": t.TempDir()}
	tenant, _ := bootstrap(t, env, "111")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"tenant name not UTF-8", []string{"tenant", "create", "--name", "Ac\xffme"}, "--name: must be valid UTF-8"},
		{"tenant name with NUL", []string{"tenant", "create", "--name", "Ac\x00me"}, "--name: must not contain NUL characters"},
		{"display number not UTF-8", []string{"number", "add", "--tenant", tenant, "--phone-number-id", "112",
			"--display-phone-number", "+1 555-000-2222\xc3", "--waba-id", "100111"}, "--display-phone-number: must be valid UTF-8"},
		{"email not UTF-8", []string{"user", "reset-password", "--email", "owner@\xfeexample.com"}, "--email: must be valid UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"wam"}, tt.args...), getenvFrom(env), &out, &errOut)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || out.Len() > 0 {
				t.Errorf("error %v (printed %q), want one starting %q", err, out.String(), tt.want)
			}
		})
	}
}
