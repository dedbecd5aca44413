package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wam-project/wam/sql/pgtest"
)

// runBench runs a bench command and decodes the JSON object on the last line
// of its stdout into v; it returns what went to stderr.
func runBench(t *testing.T, env map[string]string, v any, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	if err := run(ctx, append([]string{"wam", "bench"}, args...), getenvFrom(env), &out, &errOut); err != nil {
		t.Fatalf("wam bench %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	if err := json.Unmarshal([]byte(lastLine(out.String())), v); err != nil {
		t.Fatalf("last line of stdout is not the result object: %v\n%s", err, out.String())
	}
	return errOut.String()
}

func TestBenchProject(t *testing.T) {
	dbURL := pgtest.URL(t)
	var res struct {
		Events     *int     `json:"events"`
		Seconds    *float64 `json:"seconds"`
		EventsPerS *float64 `json:"events_per_s"`
		Messages   int      `json:"messages"`
		Parked     int      `json:"parked"`
	}
	stderr := runBench(t, map[string]string{"DATABASE_URL": dbURL}, &res, "project", "-n", "2000")
	if res.Events == nil || res.Seconds == nil || res.EventsPerS == nil {
		t.Fatalf("result lacks events, seconds or events_per_s: %+v", res)
	}
	if *res.Events != 2000 || *res.EventsPerS <= 0 || *res.Seconds <= 0 {
		t.Errorf("events = %d, seconds = %v, events_per_s = %v; want 2000 and positive figures", *res.Events, *res.Seconds, *res.EventsPerS)
	}
	// Every generated webhook has its own wamid, so each is one message row.
	if res.Messages != 2000 || res.Parked != 0 {
		t.Errorf("read model has %d messages and %d parked events; want 2000 and 0", res.Messages, res.Parked)
	}
	if !strings.Contains(stderr, "checkpoint") && !strings.Contains(stderr, "events/s") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}

	// The temporary database it made in the given server is gone.
	m := regexp.MustCompile(`using temporary database (\S+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr does not name the temporary database:\n%s", stderr)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", m[1]).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left {
		t.Errorf("temporary database %s was not dropped", m[1])
	}
}

func TestBenchIngest(t *testing.T) {
	env := map[string]string{
		"WAM_DATA_DIR":    t.TempDir(),
		"DATABASE_URL":    pgtest.URL(t),
		"META_APP_SECRET": testSecret,
		"LOG_LEVEL":       "warn",
	}
	base, _ := startServe(t, env)
	const pnid = "106540352242922"
	_, apiKey := bootstrap(t, env, pnid)

	var res struct {
		Acked         int      `json:"acked"`
		Failed        int      `json:"failed"`
		Lost          *int     `json:"lost"`
		Duplicates    *int     `json:"duplicates"`
		RatePerS      float64  `json:"rate_per_s"`
		P50Ms         *float64 `json:"p50_ms"`
		P99Ms         *float64 `json:"p99_ms"`
		JetStreamRate float64  `json:"jetstream_sync_rate_per_s"`
		Ratio         float64  `json:"ratio"`
		Retried       int      `json:"retried"`
	}
	// The API key comes from the environment, as an operator would pass it.
	benchEnv := map[string]string{"META_APP_SECRET": testSecret, "WAM_API_KEY": apiKey}
	stderr := runBench(t, benchEnv, &res, "ingest", "--url", base, "--phone-number-id", pnid,
		"-n", "500", "-c", "8", "--retries", "0.05", "--timeout", "1m")
	if res.Lost == nil || res.Duplicates == nil || res.P50Ms == nil || res.P99Ms == nil {
		t.Fatalf("result lacks lost, duplicates or latencies: %+v", res)
	}
	if res.Acked != 500 || res.Failed != 0 {
		t.Errorf("acked %d, failed %d; want all 500 acked", res.Acked, res.Failed)
	}
	if *res.Lost != 0 || *res.Duplicates != 0 {
		t.Errorf("lost %d, duplicates %d; want none\n%s", *res.Lost, *res.Duplicates, stderr)
	}
	if res.Retried == 0 {
		t.Error("no webhook was redelivered: the duplicate check proved nothing")
	}
	if res.RatePerS <= 0 || res.JetStreamRate <= 0 || res.Ratio <= 0 || *res.P99Ms < *res.P50Ms {
		t.Errorf("implausible figures: %+v", res)
	}

	// A second run writes as new users, so its checks are not confused by
	// the first run's conversations.
	var again struct {
		Lost, Duplicates, Acked int
	}
	runBench(t, benchEnv, &again, "ingest", "--url", base, "--phone-number-id", pnid, "-n", "100", "-c", "4")
	if again.Acked != 100 || again.Lost != 0 || again.Duplicates != 0 {
		t.Errorf("second run: %+v; want 100 acked, none lost or duplicated", again)
	}
}

func TestBenchIngestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // in the error; "" for success
	}{
		{"help", nil, []string{"--help"}, ""},
		{"no secret", map[string]string{"WAM_API_KEY": "k"}, []string{"--phone-number-id", "1"}, "--app-secret"},
		{"no key", map[string]string{"META_APP_SECRET": "s"}, []string{"--phone-number-id", "1"}, "--api-key"},
		{"no number", map[string]string{"META_APP_SECRET": "s", "WAM_API_KEY": "k"}, nil, "--phone-number-id"},
		{"bad n", map[string]string{"META_APP_SECRET": "s", "WAM_API_KEY": "k"}, []string{"--phone-number-id", "1", "-n", "0"}, "-n"},
		{"nobody there", map[string]string{"META_APP_SECRET": "s", "WAM_API_KEY": "k"},
			[]string{"--phone-number-id", "1", "--url", "http://127.0.0.1:1"}, "read API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"wam", "bench", "ingest"}, tt.args...), getenvFrom(tt.env), &out, &errOut)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one about %s", err, tt.want)
			}
			if tt.name == "help" {
				for _, flag := range []string{"-url", "-app-secret", "-phone-number-id", "-api-key", "-n ", "-c ", "-timeout", "ratio"} {
					if !strings.Contains(errOut.String(), flag) {
						t.Errorf("--help does not explain %s:\n%s", flag, errOut.String())
					}
				}
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(n ...int) []time.Duration {
		d := make([]time.Duration, len(n))
		for i, x := range n {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   float64
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 7},
		{ms(1, 2, 3, 4), 0.5, 2},
		{ms(1, 2, 3, 4), 1, 4},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 9},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10},
	}
	for _, tt := range tests {
		if got := percentileMs(tt.sorted, tt.p); got != tt.want {
			t.Errorf("percentileMs(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
		}
	}
}
