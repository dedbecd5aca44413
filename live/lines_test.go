package live

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestLinesPacksEventsIntoFewMessages(t *testing.T) {
	var sent [][]byte
	send := func(b []byte) error { sent = append(sent, bytes.Clone(b)); return nil }
	var l lines
	ev := func(i, size int) []byte {
		b := fmt.Appendf(nil, `{"seq":%d,"pad":"`, i)
		b = append(b, bytes.Repeat([]byte("x"), size)...)
		return append(b, `"}`...)
	}
	// Three small events: one message, one per line, in order.
	for i := 1; i <= 3; i++ {
		if err := l.add(ev(i, 10), send); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.flush(send); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || !bytes.Equal(sent[0], bytes.Join([][]byte{ev(1, 10), ev(2, 10), ev(3, 10)}, []byte("\n"))) {
		t.Fatalf("sent %q", sent)
	}
	// Events that together pass maxMessage go in more than one message,
	// none longer than maxMessage, none split, none lost or reordered; an
	// event longer than maxMessage goes alone.
	sent = nil
	var want [][]byte
	for i := range 40 {
		size := 10 << 10
		if i == 20 {
			size = maxMessage + 1
		}
		want = append(want, ev(i, size))
		if err := l.add(want[i], send); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.flush(send); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for _, m := range sent {
		lines := bytes.Split(m, []byte("\n"))
		if len(m) > maxMessage && len(lines) > 1 {
			t.Errorf("a message of %d bytes with %d events", len(m), len(lines))
		}
		got = append(got, lines...)
	}
	if len(sent) < 7 || len(sent) > 9 || !slicesEqual(got, want) {
		t.Fatalf("%d messages, %d events back (want %d, in order)", len(sent), len(got), len(want))
	}
	// Nothing held after a flush; a failed send is reported.
	if err := l.flush(func([]byte) error { return errors.New("called") }); err != nil {
		t.Fatalf("flush of nothing sent something: %v", err)
	}
	boom := errors.New("boom")
	_ = l.add(ev(1, 10), send)
	if err := l.flush(func([]byte) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("flush error %v", err)
	}
}

func slicesEqual(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
