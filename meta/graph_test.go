package meta

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
)

// TestClientAgainstSimulator holds the client and the simulator to Meta's
// answers: a number looked up with its token, a WABA's numbers listed over
// several pages, and the errors for a bad token, an unknown WABA and a WABA
// the token may not read.
func TestClientAgainstSimulator(t *testing.T) {
	sim := NewSimulator()
	const token, otherToken = "EAAG-token-of-waba-100", "EAAG-token-of-waba-200"
	for i := range 2*simPageSize + 3 { // three pages
		sim.AddNumber("100", fmt.Sprint(1000+i), "+1 555-000-0000", "Acme", token)
	}
	sim.AddNumber("200", "2000", "+1 555-000-2000", "Other", otherToken)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := NewClient(srv.URL, "v23.0")
	ctx := context.Background()

	if p, err := c.PhoneNumber(ctx, "1000", token); err != nil || p.ID != "1000" || p.VerifiedName != "Acme" {
		t.Errorf("phone number: %+v, %v", p, err)
	}
	numbers, err := c.WABAPhoneNumbers(ctx, "100", token)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range numbers {
		seen[n.ID] = true
	}
	if len(numbers) != 2*simPageSize+3 || len(seen) != len(numbers) || !seen["1000"] || !seen[fmt.Sprint(1000+2*simPageSize+2)] {
		t.Errorf("waba 100 lists %d numbers (%d distinct), want every one of %d", len(numbers), len(seen), 2*simPageSize+3)
	}

	for _, tc := range []struct {
		name, waba, token string
		status, code      int
	}{
		{"invalid token", "100", "EAAG-nobody-issued-this", 401, 190},
		{"no token", "100", "", 401, 190},
		{"unknown waba", "999", token, 400, 100},
		{"another business's waba", "200", token, 400, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.WABAPhoneNumbers(ctx, tc.waba, tc.token)
			var ge *Error
			if !errors.As(err, &ge) || ge.Status != tc.status || ge.Code != tc.code {
				t.Errorf("got %v, want a Graph API error %d with HTTP %d", err, tc.code, tc.status)
			}
		})
	}
}
