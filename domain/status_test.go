package domain

import "testing"

func TestAdvanceStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cur, next StatusKind
		want      StatusKind
	}{
		{"sent then delivered", StatusSent, StatusDelivered, StatusDelivered},
		{"delivered then read", StatusDelivered, StatusRead, StatusRead},
		{"read without delivered", StatusSent, StatusRead, StatusRead},
		{"delivered after read stays read", StatusRead, StatusDelivered, StatusRead},
		{"sent after read stays read", StatusRead, StatusSent, StatusRead},
		{"played after read", StatusRead, StatusPlayed, StatusPlayed},
		{"read after played stays played", StatusPlayed, StatusRead, StatusPlayed},
		{"queued then accepted", StatusQueued, StatusAccepted, StatusAccepted},
		{"accepted then sent", StatusAccepted, StatusSent, StatusSent},
		{"failed after sent", StatusSent, StatusFailed, StatusFailed},
		{"failed after read", StatusRead, StatusFailed, StatusFailed},
		{"failed is terminal: read", StatusFailed, StatusRead, StatusFailed},
		{"failed is terminal: played", StatusFailed, StatusPlayed, StatusFailed},
		{"failed is terminal: sent", StatusFailed, StatusSent, StatusFailed},
		{"same status", StatusDelivered, StatusDelivered, StatusDelivered},
		{"unknown status does not move", StatusDelivered, StatusKind("warning"), StatusDelivered},
		{"received does not move", StatusSent, StatusReceived, StatusSent},
		{"from nothing", "", StatusSent, StatusSent},
	}
	for _, tt := range tests {
		if got := AdvanceStatus(tt.cur, tt.next); got != tt.want {
			t.Errorf("%s: AdvanceStatus(%q, %q) = %q, want %q", tt.name, tt.cur, tt.next, got, tt.want)
		}
	}
}

// A batch applied in any order ends on the same status: Meta delivers
// statuses unordered.
func TestAdvanceStatusOrderIndependent(t *testing.T) {
	t.Parallel()
	batches := [][]StatusKind{
		{StatusSent, StatusDelivered, StatusRead},
		{StatusRead, StatusDelivered, StatusSent},
		{StatusDelivered, StatusRead, StatusSent},
	}
	for _, b := range batches {
		cur := StatusQueued
		for _, s := range b {
			cur = AdvanceStatus(cur, s)
		}
		if cur != StatusRead {
			t.Errorf("%v ended on %q, want read", b, cur)
		}
	}
}
