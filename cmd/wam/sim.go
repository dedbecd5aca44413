package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wam-project/wam/meta"
)

// simNumberFlag collects --number WABA:PHONE_NUMBER_ID:DISPLAY:TOKEN.
type simNumberFlag []simNumberSpec

type simNumberSpec struct{ waba, id, display, token string }

func (f *simNumberFlag) String() string { return fmt.Sprint(len(*f), " numbers") }

func (f *simNumberFlag) Set(v string) error {
	p := strings.SplitN(v, ":", 4)
	if len(p) != 4 || p[0] == "" || p[1] == "" || p[3] == "" {
		return errors.New("want WABA_ID:PHONE_NUMBER_ID:DISPLAY_NUMBER:ACCESS_TOKEN")
	}
	*f = append(*f, simNumberSpec{p[0], p[1], p[2], p[3]})
	return nil
}

// simRejectFlag collects --reject-template NAME[=REASON].
type simRejectFlag map[string]string

func (f simRejectFlag) String() string { return fmt.Sprint(len(f), " templates") }

func (f simRejectFlag) Set(v string) error {
	name, reason, _ := strings.Cut(v, "=")
	if name == "" {
		return errors.New("want NAME or NAME=REASON")
	}
	f[name] = reason
	return nil
}

// The number `wam sim` makes when given none.
const (
	simDemoWABA    = "100000000000001"
	simDemoNumber  = "100000000000002"
	simDemoDisplay = "+1 555-010-0002"
	simDemoToken   = "EAAG-wam-sim-demo-token"
)

// sim runs Meta's side on its own: the simulated Graph API, and webhooks
// to a wam, until ctx ends.
func sim(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	def := meta.DefaultSimOptions()
	o := def
	fs := newFlagSet("sim", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: wam sim [flags]

Runs a simulator of Meta's WhatsApp Cloud API: the Graph API endpoints wam
calls (messages, media, templates, phone numbers) below /{version}/, with
Meta's answers, errors and limits, and signed webhooks (statuses, template
reviews, customers writing in) sent to --webhook-url and retried as Meta
retries them. Point wam at it with META_API_BASE_URL. GET /_sim/stats counts
sends and refusals; POST /_sim/customers/messages makes a customer write.

Flags:
`)
		fs.PrintDefaults()
	}
	listen := fs.String("listen", "127.0.0.1:8089", "`host:port` to serve on (port 0: any free port)")
	fs.StringVar(&o.PublicURL, "public-url", "", "the simulator's `url` as wam reaches it, for media URLs; empty: as each request came")
	fs.StringVar(&o.WebhookURL, "webhook-url", getenv("WAM_SIM_WEBHOOK_URL"), "wam's webhook `url`, e.g. http://127.0.0.1:3000/api/webhook; empty sends no webhooks (WAM_SIM_WEBHOOK_URL)")
	fs.StringVar(&o.AppSecret, "app-secret", getenv("META_APP_SECRET"), "app `secret` that signs webhooks, as wam's META_APP_SECRET (META_APP_SECRET)")
	var numbers simNumberFlag
	fs.Var(&numbers, "number", "a phone number to simulate, `WABA_ID:PHONE_NUMBER_ID:DISPLAY_NUMBER:ACCESS_TOKEN` (repeatable); none: one demo number")
	fs.Int64Var(&o.Seed, "seed", 1, "`seed` of ids, customers and choices")
	fs.IntVar(&o.Throughput, "throughput", 80, "`count` of messages a number may send per second (error 130429 beyond)")
	fs.DurationVar(&o.PairInterval, "pair-interval", 6*time.Second, "one message per `duration` to the same user (error 131056 beyond); negative: no limit")
	fs.IntVar(&o.PairBurst, "pair-burst", 45, "messages to one user allowed at once beyond the pair rate")
	fs.BoolVar(&o.WindowErrorsSync, "window-errors-sync", false, "refuse messages outside the 24-hour window with 131047 at once, instead of accepting and failing them by webhook as Meta does")
	statuses := fs.Bool("statuses", true, "send status webhooks (sent, delivered, read, failed) for accepted messages; false measures the send path alone")
	fs.DurationVar(&o.SentAfter, "sent-after", def.SentAfter, "`delay` from an accepted message to its \"sent\" status")
	fs.DurationVar(&o.DeliveredAfter, "delivered-after", def.DeliveredAfter, "`delay` from \"sent\" to \"delivered\"")
	fs.DurationVar(&o.ReadAfter, "read-after", def.ReadAfter, "`delay` from \"delivered\" to \"read\"")
	fs.Float64Var(&o.UnreadShare, "unread-share", def.UnreadShare, "`share` (0 to 1) of delivered messages never read")
	fs.Float64Var(&o.OutOfOrderShare, "out-of-order-share", def.OutOfOrderShare, "`share` of messages whose statuses arrive last first")
	fs.Float64Var(&o.DuplicateShare, "duplicate-share", def.DuplicateShare, "`share` of messages with one status delivered twice")
	fs.Float64Var(&o.FailShare, "fail-share", def.FailShare, "`share` of messages that fail after \"sent\"")
	fs.IntVar(&o.FailCode, "fail-code", meta.CodeUndeliverable, "error `code` of those failures")
	fs.DurationVar(&o.TemplateReview, "template-review", def.TemplateReview, "how long a new template stays PENDING before its verdict")
	reject := simRejectFlag{}
	fs.Var(reject, "reject-template", "a template `NAME[=REASON]` to reject on review (repeatable; reason default INVALID_FORMAT)")
	fs.IntVar(&o.Customers, "customers", 20, "simulated customers per number")
	fs.Float64Var(&o.CustomerRate, "customer-rate", 0, "customer messages per second (`rate`), over all numbers; 0: only when asked at /_sim/customers/messages")
	fs.Float64Var(&o.Faults.ErrorShare, "error-share", 0, "`share` of messages refused with --error-code")
	fs.IntVar(&o.Faults.ErrorCode, "error-code", meta.CodeUnknown, "error `code` of refused messages (131000: something went wrong)")
	fs.DurationVar(&o.Faults.BurstEvery, "burst-every", 0, "every `duration`, answer every Graph API request with --burst-code for --burst-length; 0: no bursts")
	fs.DurationVar(&o.Faults.BurstLength, "burst-length", 5*time.Second, "`duration` of each burst")
	fs.IntVar(&o.Faults.BurstCode, "burst-code", meta.CodeServiceUnavailable, "error `code` answered during bursts (131016: HTTP 503)")
	fs.DurationVar(&o.Faults.Latency, "latency", 0, "`delay` added to every Graph API answer")
	fs.DurationVar(&o.Faults.LatencyJitter, "latency-jitter", 0, "up to this much more `delay`, at random")
	fs.DurationVar(&o.RetryBase, "retry-base", time.Second, "wait before the second retry of a webhook wam did not take, doubling each time (the first retry is at once)")
	fs.DurationVar(&o.RetryMax, "retry-max", time.Hour, "longest wait between retries")
	fs.DurationVar(&o.RetryFor, "retry-for", 7*24*time.Hour, "how long a webhook is retried before it is dropped")
	fs.IntVar(&o.WebhookWorkers, "webhook-workers", 4, "webhooks delivered at once")
	logLevel := fs.String("log-level", or(getenv("LOG_LEVEL"), "info"), "debug, info, warn or error (LOG_LEVEL)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	o.NoStatuses = !*statuses
	log, err := (&config{LogLevel: *logLevel}).logger(stderr)
	if err != nil {
		return err
	}
	if o.WebhookURL != "" && o.AppSecret == "" {
		return errors.New("--webhook-url needs --app-secret (META_APP_SECRET), the secret wam checks signatures with")
	}
	o.RejectTemplates, o.Logger = reject, log
	if len(numbers) == 0 {
		numbers = simNumberFlag{{simDemoWABA, simDemoNumber, simDemoDisplay, simDemoToken}}
	}
	s := meta.NewSimulatorWith(o)
	defer s.Close()
	for _, n := range numbers {
		s.AddNumber(n.waba, n.id, n.display, "Sim "+n.id, n.token)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "wam sim serving on %s\n", url)
	for _, n := range numbers {
		fmt.Fprintf(stdout, "number %s (WABA %s, %s)\n", n.id, n.waba, n.display)
	}
	if numbers[0].token == simDemoToken {
		// The demo token is no secret; tokens given by flag are not shown.
		fmt.Fprintf(stdout, "access token %s\n", simDemoToken)
	}
	if o.WebhookURL == "" {
		fmt.Fprintln(stdout, "no --webhook-url: statuses and customers' messages go nowhere")
	} else {
		fmt.Fprintf(stdout, "webhooks to %s\n", o.WebhookURL)
	}
	log.Info("wam sim serving", "url", url, "numbers", len(numbers), "webhook_url", o.WebhookURL)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
