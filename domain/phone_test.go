package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"US wa_id", "16505551234", "+16505551234"},
		{"US display", "+1 650-555-1234", "+16505551234"},
		{"US dots and padding", "  +1.650.555.1234 ", "+16505551234"},
		{"US parentheses", "+1 (212) 555-0100", "+12125550100"},
		{"Meta test number", "15550001234", "+15550001234"},
		{"Meta test display", "+1 555-000-1234", "+15550001234"},
		{"Meta test business", "15550783881", "+15550783881"},
		{"UK mobile", "447911123456", "+447911123456"},
		{"UK spaced", "+44 7911 123456", "+447911123456"},
		{"UK trunk zero in brackets", "+44 (0)20 7946 0018", "+442079460018"},
		{"UK 00 prefix", "0044 7911 123456", "+447911123456"},
		{"Brazil mobile with 9th digit", "5511988887777", "+5511988887777"},
		{"Brazil formatted", "+55 (11) 98888-7777", "+5511988887777"},
		{"Brazil wa_id without 9th digit kept", "551188887777", "+551188887777"},
		{"India", "919876543210", "+919876543210"},
		{"India spaced", "+91 98765 43210", "+919876543210"},
		{"Germany mobile", "4915123456789", "+4915123456789"},
		{"Germany Berlin landline", "+49 30 123456", "+4930123456"},
		{"Mexico today", "525512345678", "+525512345678"},
		{"Mexico legacy 521", "5215512345678", "+525512345678"},
		{"Mexico legacy spaced", "+52 1 55 1234 5678", "+525512345678"},
		{"Mexico legacy other area", "5219991234567", "+529991234567"},
		{"Argentina mobile 549", "5491112345678", "+5491112345678"},
		{"Italy keeps its leading zero", "+39 06 1234 5678", "+390612345678"},
		{"China", "+86 138 1234 5678", "+8613812345678"},
		{"Nigeria", "2348031234567", "+2348031234567"},
		{"Russia", "+7 912 345 67 89", "+79123456789"},
		{"Japan", "+81 90-1234-5678", "+819012345678"},
		{"Australia", "61412345678", "+61412345678"},
		{"Niue, 4-digit numbers", "+683 4002", "+6834002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizePhone(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizePhoneInvalid(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "   ", "+", "-", "()", "abc", "1-800-FLOWERS", "+1 650 555 1234 ext 5", "+1 650 555 1234;ext=5",
		"+12345", "+1 555 0100", "+1650555123", "+16505551234567", "+44 7911 123456 7890 1234",
		"9991234567", "+999 1234 5678", "06505551234", "+0 650 555 1234", "00", "0",
		"+1+6505551234", "1 650 555 1234+", "１６５０５５５１２３４", "+1 650\u00a0555 1234",
		"US.13491208655302741918", strings.Repeat("1", 200),
	} {
		got, err := NormalizePhone(in)
		if !errors.Is(err, ErrInvalidPhone) || got != "" {
			t.Errorf("NormalizePhone(%q) = %q, %v; want ErrInvalidPhone", in, got, err)
		}
		if ErrorCode(err) != ErrInvalid {
			t.Errorf("NormalizePhone(%q): ErrorCode = %q, want %q", in, ErrorCode(err), ErrInvalid)
		}
	}
}

// FuzzNormalizePhone checks that no input panics, that errors wrap
// ErrInvalidPhone, and that what comes out is E.164 and stays as it is when
// normalized again.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"16505551234", "+1 650-555-1234", "15550001234", "+44 (0)20 7946 0018", "5215512345678",
		"551188887777", "0044 7911 123456", "1-800-FLOWERS", "", "+", "+683 4002", "+52 1 55 1234 5678",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizePhone(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidPhone) || got != "" {
				t.Fatalf("NormalizePhone(%q) = %q, %v", in, got, err)
			}
			return
		}
		if len(got) < 3 || len(got) > 16 || got[0] != '+' || !isDigits(got[1:]) {
			t.Fatalf("NormalizePhone(%q) = %q, not E.164", in, got)
		}
		again, err := NormalizePhone(got)
		if err != nil || again != got {
			t.Fatalf("NormalizePhone(%q) = %q, %v; not stable for %q", got, again, err, in)
		}
	})
}

// The memo answers as NormalizePhone would without it, and stays within its
// bound.
func TestNormalizePhoneMemo(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"16505551234", "5215512345678", "+44 (0)20 7946 0018", "abc", "", "06505551234"} {
		wantPhone, wantErr := normalizePhoneUncached(in)
		for range 2 { // the second answer comes from the memo
			got, err := NormalizePhone(in)
			if got != wantPhone || (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", in, got, err, wantPhone, wantErr)
			}
		}
	}
	m := memo{max: 2}
	for _, k := range []string{"1", "2", "3"} {
		m.put(k, phoneAnswer{phone: "+" + k})
	}
	if a, ok := m.get("3"); !ok || a.phone != "+3" || len(m.m) > 2 {
		t.Errorf("memo holds %d entries, 3 → %+v, %v", len(m.m), a, ok)
	}
}
