package domain

import "testing"

// TestClassifySendError holds the sender to Meta's codes (issue 8): the
// retryable ones are retried, the permanent ones recorded at once, 190
// holds the number.
func TestClassifySendError(t *testing.T) {
	for _, c := range []struct {
		code, status int
		want         SendErrorClass
	}{
		{130429, 400, SendRetry}, {131056, 400, SendPairRate}, {131016, 503, SendRetryBounded}, {131000, 500, SendRetryBounded},
		{4, 400, SendRetry}, {80007, 400, SendRetry}, {0, 500, SendRetry}, {0, 502, SendRetry}, {0, 503, SendRetry},
		{190, 401, SendTokenInvalid},
		{100, 400, SendPermanent}, {131009, 400, SendPermanent}, {131026, 400, SendPermanent}, {131047, 400, SendPermanent},
		{131051, 400, SendPermanent}, {131052, 400, SendPermanent}, {131053, 400, SendPermanent}, {132000, 400, SendPermanent},
		{132001, 404, SendPermanent}, {132005, 400, SendPermanent}, {132007, 400, SendPermanent}, {132012, 400, SendPermanent},
		{132015, 400, SendPermanent}, {132016, 400, SendPermanent}, {133010, 400, SendPermanent}, {368, 403, SendPermanent},
		{131048, 400, SendPermanent}, {131049, 400, SendPermanent}, {99999, 400, SendPermanent},
		// A permanent code stays permanent whatever the HTTP status says.
		{131026, 500, SendPermanent},
	} {
		if got := ClassifySendError(c.code, c.status); got != c.want {
			t.Errorf("code %d (HTTP %d): %v, want %v", c.code, c.status, got, c.want)
		}
	}
}
