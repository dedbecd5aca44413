package media

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestSumReader: a file is taken only when its SHA-256 is the one
// announced, as Meta writes it: base64 in webhooks, hex in lookups; the
// webhook's wins, and a claim that is no SHA-256 is a mismatch.
func TestSumReader(t *testing.T) {
	data := []byte("a photo of a blue shirt")
	sum := sha256.Sum256(data)
	other := sha256.Sum256([]byte("something else"))
	b64, hx := base64.StdEncoding.EncodeToString(sum[:]), hex.EncodeToString(sum[:])
	for _, tc := range []struct {
		webhook, lookup string
		ok              bool
	}{
		{b64, "", true},
		{"", hx, true},
		{b64, hex.EncodeToString(other[:]), true},
		{base64.StdEncoding.EncodeToString(other[:]), hx, false},
		{"", "", true},
		{"not a hash", "", false},
	} {
		want, err := claimedSum(tc.webhook, tc.lookup)
		if err == nil {
			_, err = io.Copy(io.Discard, &sumReader{r: bytes.NewReader(data), h: sha256.New(), want: want})
		}
		if got := err == nil; got != tc.ok || (err != nil && !errors.Is(err, errMismatch)) {
			t.Errorf("webhook %q, lookup %q: %v, want ok=%v", tc.webhook, tc.lookup, err, tc.ok)
		}
	}
}

// TestCapReader: an upload reads up to its limit, and fails past it
// without passing on the extra bytes.
func TestCapReader(t *testing.T) {
	if b, err := io.ReadAll(&capReader{r: strings.NewReader("12345"), left: 5}); err != nil || string(b) != "12345" {
		t.Errorf("at the limit: %q %v", b, err)
	}
	if b, err := io.ReadAll(&capReader{r: strings.NewReader("123456"), left: 5}); !errors.Is(err, errTooLarge) || len(b) > 5 {
		t.Errorf("over the limit: %q %v", b, err)
	}
}

func TestCleanFilename(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Users\ann\spec.pdf`: "spec.pdf",
		"../../etc/passwd":      "passwd",
		"a\x00b\nc.txt":         "a\uFFFDbc.txt",
		"Prix été.pdf":          "Prix été.pdf",
	} {
		if got := cleanFilename(in); got != want {
			t.Errorf("cleanFilename(%q) = %q, want %q", in, got, want)
		}
	}
}
