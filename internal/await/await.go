// Package await is how tests wait: until a condition holds, with a
// deadline, never for a fixed time (a fixed sleep passes on a busy machine
// when the behaviour is broken, and makes a quiet one slow).
package await

import (
	"testing"
	"time"
)

// poll is how often the condition is looked at again.
const poll = 10 * time.Millisecond

// Until fails tb unless cond holds within timeout; what names the wait in
// the failure.
func Until(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(poll)
	}
}
