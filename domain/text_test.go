package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextProblem(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{
		"":                "",
		"plain":           "",
		"olá \uFFFD 😀":    "",
		"a\x00b":          "must not contain NUL characters",
		"\xff":            "must be valid UTF-8",
		"a\xc3":           "must be valid UTF-8",
		"\uFFFD\x00":      "must not contain NUL characters",
		"\xed\xa0\x80":    "must be valid UTF-8", // a surrogate, encoded
		"ok\x00then\xff":  "must not contain NUL characters",
		"ok\xffthen\x00":  "must be valid UTF-8",
		"\u2028\u00a0\t ": "",
	} {
		if got := TextProblem(s); got != want {
			t.Errorf("TextProblem(%q) = %q, want %q", s, got, want)
		}
	}
	if err := CheckText("--name", "a\xff"); ErrorMessage(err) != "--name: must be valid UTF-8" || ErrorCode(err) != ErrInvalid {
		t.Errorf("CheckText: %v", err)
	}
	if err := CheckText("--name", "Acme"); err != nil {
		t.Errorf("CheckText of a good name: %v", err)
	}
}

func TestStorableText(t *testing.T) { // not parallel: it counts allocations
	for in, want := range map[string]string{
		"":             "",
		"plain":        "plain",
		"a\x00b":       "a\uFFFDb",
		"\xff\xfe":     "\uFFFD\uFFFD", // each bad byte, as encoding/json does
		"a\xc3":        "a\uFFFD",
		"\xe2\x82":     "\uFFFD\uFFFD",
		"é\x00\xffend": "é\uFFFD\uFFFDend",
	} {
		if got := StorableText(in); got != want || TextProblem(got) != "" {
			t.Errorf("StorableText(%q) = %q, want %q", in, got, want)
		}
	}
	s := strings.Repeat("plain text, olá ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = StorableText(s) }); n != 0 {
		t.Errorf("StorableText of clean text: %v allocations", n)
	}
}

// CheckJSONText names the field as the contract's errors do.
func TestCheckJSONText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ body, want string }{
		{`{"name":"Acme","tags":["a","b"],"n":1e999999}`, ""},
		{`{"name":"a\u0000b"}`, "name: must not contain NUL characters"},
		{"{\"name\":\"\xff\"}", "name: must be valid UTF-8"},
		{`{"name":"\ud800"}`, `name: must not contain unpaired surrogates (such as \ud800)`},
		{`{"name":"\udc00\ud800"}`, `name: must not contain unpaired surrogates (such as \ud800)`},
		{`{"name":"\ud800\ud800\udc00"}`, `name: must not contain unpaired surrogates (such as \ud800)`},
		{`{"name":"\ud83d\ude00 \u00e9 \\u0000 \"\u0000\""}`, "name: must not contain NUL characters"},
		{`{"name":"\ud83d\ude00 \u00e9 \\u0000 \\ud800"}`, ""},
		{`{"tags":["ok","a\u0000"]}`, "tags.1: must not contain NUL characters"},
		{`{"a":{"b":[{},{"c":["x",{"d":"\u0000"}]}]}}`, "a.b.1.c.1.d: must not contain NUL characters"},
		{`{"a":1,"b":[1,2,"x"],"c":"\u0000"}`, "c: must not contain NUL characters"},
		{`{"branding":{"th\u0000eme":"dark"}}`, "branding.th\uFFFDeme: must not contain NUL characters"},
		{"{\"k\xffey\":1}", "k\uFFFDey: must be valid UTF-8"},
		{`"\u0000"`, "body: must not contain NUL characters"},
		{`["a", "b" , "\u0000"]`, "2: must not contain NUL characters"},
		{`{"name":"\u0000"`, ""}, // not JSON: the contract's validator says so
		{``, ""},
	} {
		err := CheckJSONText([]byte(tt.body))
		if got := ErrorMessage(err); got != tt.want || (err != nil && ErrorCode(err) != ErrInvalid) {
			t.Errorf("CheckJSONText(%s) = %v, want %q", tt.body, err, tt.want)
		}
	}
}

func TestStorableJSON(t *testing.T) { // not parallel: it counts allocations
	for _, tt := range []struct {
		in, want string
		cut      bool
	}{
		{`{"body":"a\u0000b"}`, `{"body":"a\ufffdb"}`, false},
		{"{\"body\":\"\xff\xfe\"}", "{\"body\":\"\uFFFD\uFFFD\"}", false},
		{`{"body":"\ud800"}`, `{"body":"\ufffd"}`, false},
		{`{"body":"\ud800\ud800\udc00x\udc00"}`, `{"body":"\ufffd\ud800\udc00x\ufffd"}`, false},
		{`{"k\u0000":"\\u0000"}`, `{"k\ufffd":"\\u0000"}`, false},
		{`{"n":1e999999,"m":[-1e-16384,1.5e3,12]}`, `{"n":"1e999999","m":["-1e-16384",1.5e3,12]}`, false},
		{`{"x":` + deep(MaxNesting) + `}`, `{"x":` + deep(MaxNesting - 1)[:MaxNesting-1] + "null" + deep(MaxNesting - 1)[MaxNesting-1:] + `}`, true},
		{`[` + deep(5000) + `,"\u0000",` + deep(MaxNesting+1) + `]`, `[` + deep(MaxNesting - 1)[:MaxNesting-1] + "null" + deep(MaxNesting - 1)[MaxNesting-1:] +
			`,"\ufffd",` + deep(MaxNesting - 1)[:MaxNesting-1] + "null" + deep(MaxNesting - 1)[MaxNesting-1:] + `]`, true},
		{`{"x":[{"y":"]}"}]}`, `{"x":[{"y":"]}"}]}`, false},
	} {
		got, cut := StorableJSON([]byte(tt.in))
		if string(got) != tt.want || cut != tt.cut {
			t.Errorf("StorableJSON(%.80s) = %.200s, %v; want %.200s, %v", tt.in, got, cut, tt.want, tt.cut)
		}
	}
	clean := mustReadTestdata(t, "interactive_nfm_reply.json")
	if got, _ := StorableJSON(clean); &got[0] != &clean[0] {
		t.Error("StorableJSON copied a clean value")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = StorableJSON(clean) }); n != 0 {
		t.Errorf("StorableJSON of a clean value: %v allocations", n)
	}
}

// TestNumericFits holds numericFits to what PostgreSQL 15 answers to
// SELECT $1::jsonb for each number.
func TestNumericFits(t *testing.T) {
	t.Parallel()
	for n, ok := range map[string]bool{
		`0`:                               true,
		`-12.5`:                           true,
		`1e131071`:                        true,
		`1e131072`:                        false,
		`0.001e131074`:                    true,
		`-1e-16383`:                       true,
		`1e-16384`:                        false,
		`1e1000000000000`:                 false,
		`-0.0e-00`:                        true,
		`2E+5`:                            true,
		"0." + strings.Repeat("1", 16383): true,
		"0." + strings.Repeat("1", 16384): false,
	} {
		if got := numericFits([]byte(n)); got != ok {
			t.Errorf("numericFits(%.40s) = %v, want %v", n, got, ok)
		}
	}
}

// FuzzStorableJSON: whatever valid JSON comes in, what comes out is valid
// JSON that CheckJSONText finds nothing in, nested at most MaxNesting deep,
// with every number within numeric, and the same again when made storable
// once more. And the two walks agree: on JSON without numbers or nesting
// to fix, StorableJSON changes something exactly when CheckJSONText finds
// something.
func FuzzStorableJSON(f *testing.F) {
	for _, raw := range mustTestdataFiles(f) {
		f.Add(raw)
	}
	for _, s := range []string{`"\u0000"`, "\"\xff\"", `["\ud800","\udc00\ud800\udc00"]`, `{"\u0000":1e999999}`, deep(MaxNesting + 1), `[1,-2.5e-99999]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, ok := scanText(raw, nil, len(raw)); !ok {
			return
		}
		out, _ := StorableJSON(raw)
		if _, ok := scanText(out, nil, MaxNesting); !ok {
			t.Fatalf("StorableJSON(%q) = %q: not JSON nested at most %d deep", raw, out, MaxNesting)
		}
		if err := CheckJSONText(out); err != nil {
			t.Fatalf("StorableJSON(%q) = %q: %v", raw, out, err)
		}
		if !utf8.Valid(out) {
			t.Fatalf("StorableJSON(%q) = %q: not UTF-8", raw, out)
		}
		if n, ok := hugeNumber(out); ok {
			t.Fatalf("StorableJSON(%q) = %q: the number %.40s is beyond numeric", raw, out, n)
		}
		if again, _ := StorableJSON(out); string(again) != string(out) {
			t.Fatalf("StorableJSON is not idempotent on %q: %q, then %q", raw, out, again)
		}
		if _, shallow := scanText(raw, nil, MaxNesting); shallow && json.Valid(raw) {
			if _, huge := hugeNumber(raw); !huge && (string(out) != string(raw)) != (CheckJSONText(raw) != nil) {
				t.Fatalf("StorableJSON(%q) = %q, but CheckJSONText says %v", raw, out, CheckJSONText(raw))
			}
		}
	})
}

// hugeNumber is the first number of the valid JSON text b beyond numeric.
func hugeNumber(b []byte) (json.Number, bool) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if n, ok := tok.(json.Number); ok && !numericFits([]byte(n)) {
			return n, true
		}
	}
}
