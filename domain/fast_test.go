package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mustTestdataFiles is every testdata payload, by name.
func mustTestdataFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("no testdata: %v", err)
	}
	files := make(map[string][]byte, len(names))
	for _, name := range names {
		files[filepath.Base(name)] = mustReadTestdata(tb, filepath.Base(name))
	}
	return files
}

// assertSameAsTolerant checks that decodeFast either gives up on raw or
// decodes it exactly as decodeTolerant does, and reports whether it decoded.
func assertSameAsTolerant(tb testing.TB, raw []byte) bool {
	tb.Helper()
	fast, ok := decodeFast(raw)
	if !ok {
		return false
	}
	slow, err := decodeTolerant(raw)
	if err != nil {
		tb.Fatalf("decodeFast decoded %q, decodeTolerant failed: %v", raw, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		tb.Fatalf("decodeFast and decodeTolerant differ on %q:\nfast %+v\nslow %+v", raw, fast, slow)
	}
	return true
}

// Every payload without a problem takes the fast way, and comes out of it as
// it would from the tolerant one.
func TestDecodeFastTakesCleanPayloads(t *testing.T) {
	t.Parallel()
	for name, raw := range mustTestdataFiles(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w, err := decodeTolerant(raw)
			if err != nil {
				t.Fatal(err)
			}
			fast := assertSameAsTolerant(t, raw)
			if clean := !w.Partial(); fast != clean {
				t.Errorf("decodeFast took it: %v, want %v (problems %q)", fast, clean, w.Problems)
			}
		})
	}
}

// Bodies that encoding/json reads differently from a byte-for-byte match of
// keys, or that the tolerant decoder reports problems in, are left to the
// tolerant decoder.
func TestDecodeFastLeavesOddBodies(t *testing.T) {
	t.Parallel()
	const (
		head = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[`
		tail = `]}}]}]}`
	)
	msg := func(members string) string {
		return head + `{"id":"wamid.X","from":"16505551234","timestamp":"1",` + members + `}` + tail
	}
	for _, tt := range []struct {
		name, body string
		fast       bool
	}{
		{"plain", msg(`"type":"text","text":{"body":"hi"}`), true},
		{"escaped body", msg(`"type":"text","text":{"body":"ol\u00e1 \"you\""}`), true},
		{"type object first", msg(`"text":{"body":"hi"},"type":"text"`), true},
		{"type given twice", msg(`"type":"image","type":"text","text":{"body":"hi"}`), true},
		{"type object twice", msg(`"type":"text","text":{"body":"a"},"text":{"body":"b"}`), true},
		{"id twice", msg(`"id":"wamid.Y","type":"text","text":{"body":"hi"}`), true},
		{"unknown type wrapped", msg(`"type":"poll","poll":[1, 2]`), true},
		{"field by another case", msg(`"type":"text","text":{"Body":"hi"}`), false},
		{"field twice", msg(`"type":"text","text":{"body":"a","body":"b"}`), false},
		{"escaped key", msg(`"type":"text","t\u0065xt":{"body":"hi"}`), false},
		{"escaped field", msg(`"type":"text","text":{"b\u006fdy":"hi"}`), false},
		{"non-ASCII field", msg(`"type":"text","text":{"bodſ":"hi"}`), false},
		{"escaped type", msg(`"type":"t\u0065xt","text":{"body":"hi"}`), false},
		{"wrong field type", msg(`"type":"text","text":{"body":5}`), false},
		{"type not a string", msg(`"type":5`), false},
		{"no timestamp", head + `{"id":"wamid.X","type":"text","text":{"body":"hi"}}` + tail, false},
		{"context field by another case", msg(`"type":"text","text":{"body":"hi"},"context":{"ID":"wamid.Y"}`), false},
		{"null message", head + `null` + tail, false},
		{"error code beyond int32", msg(`"type":"text","text":{"body":"hi"},"errors":[{"code":4294967297}]`), false},
		{"error code of int32", msg(`"type":"text","text":{"body":"hi"},"errors":[{"code":2147483647}]`), true},
		{"reaction", msg(`"type":"reaction","reaction":{"message_id":"wamid.Y","emoji":"x"}`), true},
		{"no entries", `{"object":"whatsapp_business_account","entry":[]}`, false},
		{"object is a number", `{"object":5,"entry":[]}`, false},
		{"not JSON", `{"object":"x"`, false},
		{"null parts", `{"entry":[null,{"changes":[null,{"field":"messages","value":{"contacts":[null],"statuses":null}}]}]}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := assertSameAsTolerant(t, []byte(tt.body)); got != tt.fast {
				t.Errorf("decodeFast took it: %v, want %v", got, tt.fast)
			}
			want, wantErr := decodeTolerant([]byte(tt.body))
			got, err := DecodeWebhook([]byte(tt.body))
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(err, wantErr) {
				t.Errorf("DecodeWebhook = %+v, %v; want %+v, %v", got, err, want, wantErr)
			}
		})
	}
}

// The result does not share memory with the body: callers may reuse theirs.
func TestDecodeWebhookCopiesBody(t *testing.T) {
	t.Parallel()
	raw := mustReadTestdata(t, "text.json")
	w, err := DecodeWebhook(raw)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := decodeTolerant(raw)
	for i := range raw {
		raw[i] = ' '
	}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("the result changed with the body: %+v", w)
	}
	m := w.Changes[0].Messages[0]
	value := bytes.Clone(w.Changes[0].Value)
	_ = append(m.Raw, "garbage"...)
	if !bytes.Equal(w.Changes[0].Value, value) {
		t.Error("appending to Raw wrote over Value")
	}
}

// FuzzDecodeFast holds decodeFast to decodeTolerant: on any body it takes,
// it must give what the tolerant decoder gives.
func FuzzDecodeFast(f *testing.F) {
	for _, raw := range mustTestdataFiles(f) {
		f.Add(raw)
	}
	f.Add([]byte(oddWebhook(`"x":`+deep(MaxNesting)+`,`, "", `"n":1e999999,`)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		assertSameAsTolerant(t, raw)
	})
}

// FuzzScanText holds scanText to json.Valid, and its index to where
// encoding/json finds each object and array to end.
func FuzzScanText(f *testing.F) {
	for _, raw := range mustTestdataFiles(f) {
		f.Add(raw)
	}
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `[{}]`, `{"a":[1,{"b":"}"}]}`, `"x"`, `-0.5e+3`, `01`, `1.`, `-`, `1e`, `tru`, `nul`,
		`"\u00e9\"\\\/\b\f\n\r\t"`, `"\x"`, `"\u12"`, "\"\x01\"", `{"a" 1}`, `{"a":}`, `[1,]`, `{,}`, `[1 2]`,
		`{} {}`, "\xef\xbb\xbf{}", strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		txt, ok := scanText(raw, nil, maxDepth)
		if valid := json.Valid(raw); ok != valid {
			t.Fatalf("scanText(%q) = %v, json.Valid = %v", raw, ok, valid)
		}
		if !ok {
			return
		}
		want := mustContainerBounds(t, raw)
		if len(txt.ends) != len(want) || (len(want) > 0 && !reflect.DeepEqual(txt.ends, want)) {
			t.Fatalf("scanText(%q) index %v, want %v", raw, txt.ends, want)
		}
	})
}

// mustContainerBounds is where each object and array of the valid JSON text
// raw opens and ends, as encoding/json's tokenizer finds them.
func mustContainerBounds(tb testing.TB, raw []byte) []bounds {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // 1e999 is valid JSON, but no float64
	var out []bounds
	var open []int
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("Token: %v", err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			open = append(open, len(out))
			out = append(out, bounds{open: int(dec.InputOffset()) - 1})
		case json.Delim('}'), json.Delim(']'):
			out[open[len(open)-1]].end = int(dec.InputOffset())
			open = open[:len(open)-1]
		}
	}
}

func BenchmarkNormalizePhone(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NormalizePhone("16505551234"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizePhoneUncached is what a number costs the first time it
// is seen.
func BenchmarkNormalizePhoneUncached(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := normalizePhoneUncached("16505551234"); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzPreviewText holds previewText's shortcut (isFolded) to folding and
// cutting the long way.
func FuzzPreviewText(f *testing.F) {
	for _, s := range []string{"", " ", "hi", "hi ", " hi", "a  b", "a\tb", "a\u00a0b", "a\u0085b", "\xff x", strings.Repeat("é", PreviewLength), strings.Repeat("é", PreviewLength+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := strings.Join(strings.Fields(s), " ")
		if r := []rune(want); len(r) > PreviewLength {
			want = strings.TrimSpace(string(r[:PreviewLength-1])) + "…"
		}
		if got := previewText(s); got != want {
			t.Fatalf("previewText(%q) = %q, want %q", s, got, want)
		}
	})
}
