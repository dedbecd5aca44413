package main

import (
	"testing"

	"github.com/wam-project/wam/sql/pgtest"
)

// TestBenchSend: the benchmark drives the whole send path, statuses
// included, and measures each message from its 202 to "sent".
func TestBenchSend(t *testing.T) {
	var res sendBenchResult
	runBench(t, map[string]string{"DATABASE_URL": pgtest.URL(t)}, &res,
		"send", "--numbers", "3", "-n", "60", "-c", "8")
	if res.Sent != 60 || res.DoubleSends != 0 || res.RateLimitErrors != 0 {
		t.Errorf("sent %d, double sends %d, 130429 %d; want 60, 0, 0", res.Sent, res.DoubleSends, res.RateLimitErrors)
	}
	if res.AcceptRatePerS <= 0 || res.SendRatePerS <= 0 || res.P99Ms <= 0 {
		t.Errorf("accept rate %v, send rate %v, p99 %v", res.AcceptRatePerS, res.SendRatePerS, res.P99Ms)
	}
	// The simulator reports "sent" 300 ms after it accepted a message.
	if res.P99ToSentMs < 300 || res.MaxNumberRateRate > 1 {
		t.Errorf("p99 to sent %v ms, max number rate ratio %v", res.P99ToSentMs, res.MaxNumberRateRate)
	}
}
