package domain

import "fmt"

// MaxNesting is how deeply wam reads and stores JSON. DecodeWebhook and
// WebhookRoutes read a body whose values nest deeper as if each such value
// were null (and the decode records it as a problem); StorableJSON cuts
// them. Meta's webhooks nest about ten levels deep. Without a bound far
// below encoding/json's (maxDepth) and PostgreSQL's (its jsonb parser runs
// out of stack), one absurd field the decoder does not even read would make
// the whole webhook undecodable, or its message unstorable.
const MaxNesting = 100

// nestsDeeper reports whether an object or array of the JSON text b nests
// more than limit levels deep, looking only at brackets outside strings:
// cheap, and for b that is not JSON an answer of no consequence.
func nestsDeeper(b []byte, limit int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			if depth++; depth > limit {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// pruneDeep is raw with each value nested deeper than MaxNesting replaced by
// null, and a problem (path, text) naming the first; raw itself and no
// problem when nothing nests that deep, or when raw is not JSON even with
// no bound on nesting. It walks an index of raw, never recursing: a body of
// 3 MiB can nest a million levels deep.
func pruneDeep(raw []byte) ([]byte, string, string) {
	if !nestsDeeper(raw, MaxNesting) {
		return raw, "", ""
	}
	t, ok := scanText(raw, nil, len(raw))
	if !ok {
		return raw, "", ""
	}
	out := make([]byte, 0, len(raw))
	var open []int // where each container above the current one ends
	done, cuts, first := 0, 0, -1
	for _, c := range t.ends { // in the order they open
		if c.open < done {
			continue // inside a value already cut
		}
		for len(open) > 0 && open[len(open)-1] <= c.open {
			open = open[:len(open)-1]
		}
		if len(open) < MaxNesting {
			open = append(open, c.end)
			continue
		}
		out = append(append(out, raw[done:c.open]...), "null"...)
		done = c.end
		if cuts++; first < 0 {
			first = c.open
		}
	}
	out = append(out, raw[done:]...)
	text := fmt.Sprintf("nested deeper than %d levels: read as null", MaxNesting)
	if cuts > 1 {
		text += fmt.Sprintf(" (and %d more)", cuts-1)
	}
	return out, t.pathTo(first), text
}

// pathTo is the JSON path of the value that starts at offset at, as
// problems give it (entry[0].changes[1].value), cut to a readable length.
func (t *text) pathTo(at int) string {
	var path []byte
	for v := skipSpace(t.b, 0); v != at; {
		next := -1
		switch t.b[v] {
		case '{':
			it := members{t: t, i: v}
			for m, ok := it.next(); ok && next < 0; m, ok = it.next() {
				if m.val.start <= at && at < m.val.end {
					if len(path) > 0 {
						path = append(path, '.')
					}
					path = append(path, clip(string(t.b[m.key.start:m.key.end]), 40)...)
					next = m.val.start
				}
			}
		case '[':
			it := elements{t: t, i: v}
			n := 0
			for e, ok := it.next(); ok && next < 0; e, ok = it.next() {
				if e.start <= at && at < e.end {
					path = fmt.Appendf(path, "[%d]", n)
					next = e.start
				}
				n++
			}
		}
		if next < 0 {
			break // at is not the start of a value
		}
		v = next
	}
	return clip(string(path), 200)
}
