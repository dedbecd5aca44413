package sender

import (
	"testing"
	"time"
)

// A number's sends count from leaving until a second after their answer:
// however late a request reaches Meta, no second of Meta's clock can hold
// more than the number's rate.
func TestNumberLimitCountsUntilAnswered(t *testing.T) {
	n := &numberLimit{perSecond: 2}
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	a, _, _ := n.admit(t0)
	b, _, _ := n.admit(t0.Add(500 * time.Millisecond))
	if a == nil || b == nil {
		t.Fatal("the first two sends of a number at 2/s must leave")
	}
	// Both still out two seconds later: either may reach Meta any moment.
	f, free, settled := n.admit(t0.Add(2 * time.Second))
	if f != nil || !free.IsZero() || settled == nil {
		t.Fatalf("a third left while two were out (free %v)", free)
	}
	n.answer(a, t0.Add(2*time.Second))
	select {
	case <-settled:
	default:
		t.Fatal("an answer did not wake the waiting sends")
	}
	// a reached Meta at the latest when it was answered: it counts for a
	// second after that.
	if f, free, _ := n.admit(t0.Add(2500 * time.Millisecond)); f != nil || !free.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("left %v; free at %v, want %v", f != nil, free, t0.Add(3*time.Second))
	}
	if c, _, _ := n.admit(t0.Add(3*time.Second + time.Nanosecond)); c == nil {
		t.Fatal("a second after a's answer a third must leave")
	}
	// b is still out and c has just left: nothing more.
	if f, _, _ := n.admit(t0.Add(10 * time.Second)); f != nil {
		t.Fatal("a send left with the rate already out")
	}
}
