package main

import (
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"90d", 90 * 24 * time.Hour, true}, {"2160h", 2160 * time.Hour, true},
		{"30m", 0, false}, {"-5d", 0, false}, {"soon", 0, false}, {"1.5d", 0, false},
	} {
		got, err := parseRetention(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
