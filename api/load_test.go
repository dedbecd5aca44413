package api

import (
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLoad(2000, func() time.Time { return now })
	if l.Busy() {
		t.Fatal("busy before any webhook")
	}
	for range 250 { // 2,500/s over one window
		l.hit()
	}
	if l.Busy() {
		t.Fatal("busy while the first window is still open")
	}
	now = now.Add(loadWindow)
	if !l.Busy() {
		t.Fatal("not busy after a window at 2,500/s")
	}
	for range 100 { // 1,000/s
		l.hit()
	}
	now = now.Add(loadWindow)
	if l.Busy() {
		t.Fatal("busy after a window at 1,000/s")
	}
	for range 300 {
		l.hit()
	}
	now = now.Add(5 * loadWindow)
	if l.Busy() {
		t.Fatal("busy after half a second without webhooks")
	}
}
