package domain

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestWebhookRoutes(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []EntryRoute
		err  bool
	}{
		{"one change", `{"entry":[{"id":"100","changes":[{"value":{"metadata":{"phone_number_id":"111"}},"field":"messages"}]}]}`,
			[]EntryRoute{{WABAID: "100", PhoneNumberIDs: []string{"111"}}}, false},
		{"numeric ids", `{"entry":[{"id":100,"changes":[{"value":{"metadata":{"phone_number_id":111}}}]}]}`,
			[]EntryRoute{{WABAID: "100", PhoneNumberIDs: []string{"111"}}}, false},
		{"template update names no number", `{"entry":[{"id":"200","time":1,"changes":[{"value":{"event":"APPROVED","message_template_id":123},"field":"message_template_status_update"}]}]}`,
			[]EntryRoute{{WABAID: "200", PhoneNumberIDs: []string{""}}}, false},
		{"several entries and changes", `{"entry":[{"id":"1","changes":[{"value":{"metadata":{"phone_number_id":"a"}}},{"value":{"metadata":{"phone_number_id":"b"}}}]},{"id":"2","changes":[]}]}`,
			[]EntryRoute{{WABAID: "1", PhoneNumberIDs: []string{"a", "b"}}, {WABAID: "2"}}, false},
		{"escaped key", `{"entry":[{"\u0069d":"100","changes":[{"value":{"metadata":{"phone_number_id":"111"}}}]}]}`,
			[]EntryRoute{{WABAID: "100", PhoneNumberIDs: []string{"111"}}}, false},
		{"no entry", `{"object":"whatsapp_business_account"}`, nil, false},
		{"not JSON", `{"entry":[`, nil, true},
		{"entry not an array", `{"entry":{"id":"1"}}`, nil, true},
		{"id is an object", `{"entry":[{"id":{}}]}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WebhookRoutes([]byte(tt.body))
			if tt.err {
				if !errors.Is(err, ErrUndecodable) {
					t.Fatalf("error %v, want ErrUndecodable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzWebhookRoutes holds the fast path to the encoding/json one: whenever
// routesFast takes a body, it must find exactly what routesSlow finds.
func FuzzWebhookRoutes(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"entry":[{"id":1,"changes":[{"value":{"metadata":{"phone_number_id":null}}}]}]}`))
	f.Add([]byte(oddWebhook(`"x":`+deep(150)+`,`, "", "")))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := routesFast(body)
		slow, err := routesSlow(body)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("fast path took a body the slow one refuses (%v): %+v", err, fast)
		}
		if !reflect.DeepEqual(fast, slow) && (len(fast) != 0 || len(slow) != 0) {
			t.Fatalf("fast %+v, slow %+v", fast, slow)
		}
	})
}

func BenchmarkWebhookRoutes(b *testing.B) {
	body, err := os.ReadFile("testdata/text.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := WebhookRoutes(body); err != nil {
			b.Fatal(err)
		}
	}
}
