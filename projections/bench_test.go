package projections

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

// BenchmarkInboxProject measures how fast the inbox projector catches up
// with a stream of b.N webhooks: about 60% inbound messages of various types
// from 1000 contacts of 4 tenants, 40% statuses (sent, delivered, read) of
// outbound messages. Only the catching up is timed, not filling the stream.
func BenchmarkInboxProject(b *testing.B) {
	e := mustEnvWith(b, pgtest.New(b), streams.StreamOptions{})
	tenants := make([]string, 4)
	for i := range tenants {
		tenants[i] = uuid.NewString()
	}
	last := fillStream(b, e.js, tenants, b.N)

	b.ResetTimer()
	start := time.Now()
	r := NewInbox(e.pool, e.js, nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Minute)
	err := r.WaitFor(wctx, last)
	wcancel()
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if rerr := <-done; rerr != nil {
		b.Fatal(rerr)
	}
	if err != nil {
		b.Fatal(err)
	}
	// A benchmark that parked its events would measure nothing.
	var parked int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM parked_events`).Scan(&parked); err != nil || parked != 0 {
		b.Fatalf("%d events parked (%v)", parked, err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// fillStream publishes n realistic webhooks and returns the last sequence.
func fillStream(tb testing.TB, js jetstream.JetStream, tenants []string, n int) uint64 {
	tb.Helper()
	var futures []jetstream.PubAckFuture
	received := time.Now().UTC()
	for i := range n {
		t, body := benchWebhook(i)
		tenant := tenants[t%len(tenants)]
		msg := &nats.Msg{Subject: streams.WebhookSubject(tenant), Data: body, Header: nats.Header{}}
		msg.Header.Set(streams.HeaderType, streams.TypeWebhookMeta)
		msg.Header.Set(streams.HeaderTenant, tenant)
		msg.Header.Set(streams.HeaderOccurredAt, received.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano))
		msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("bench-%d", i))
		f, err := js.PublishMsgAsync(msg, jetstream.WithExpectStream(streams.StreamName))
		if err != nil {
			tb.Fatal(err)
		}
		futures = append(futures, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		tb.Fatal("publishing the benchmark stream timed out")
	}
	var last uint64
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			last = max(last, ack.Sequence)
		case err := <-f.Err():
			tb.Fatal(err)
		}
	}
	return last
}

// benchMessages are the bodies of inbound messages the benchmark cycles
// through, shaped as Meta sends them.
var benchMessages = []string{
	`"type":"text","text":{"body":"Hello, is my order %d on its way? I ordered it last week and have not heard back."}`,
	`"type":"text","text":{"body":"Thanks! %d"}`,
	`"type":"image","image":{"caption":"photo %d","mime_type":"image/jpeg","sha256":"AbCdEfGh1234567890abcdefgh1234567890ABCDEFG=","id":"1003383421387256"}`,
	`"type":"text","text":{"body":"Can I change the delivery address for %d?"}`,
	`"type":"reaction","reaction":{"message_id":"wamid.OUT.%d","emoji":"\ud83d\udc4d"}`,
	`"type":"location","location":{"latitude":37.483307,"longitude":-122.148981,"name":"Store %d","address":"1 Hacker Way, Menlo Park, CA 94025"}`,
	`"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes-%d","title":"Yes"}}`,
	`"type":"audio","audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"AbCdEfGh1234567890abcdefgh1234567890ABCDEFG=","id":"%d","voice":true}`,
	`"type":"document","document":{"caption":"invoice","filename":"invoice-%d.pdf","mime_type":"application/pdf","sha256":"AbCdEfGh1234567890abcdefgh1234567890ABCDEFG=","id":"1003383421387256"}`,
	`"type":"button","button":{"payload":"STOP-%d","text":"Stop promotions"}`,
}

// benchWebhook is the i-th webhook of the benchmark stream and the index of
// its tenant: three in five are an inbound message from one of 1000
// contacts, two in five a status of an outbound message, each of which goes
// sent, delivered, read.
func benchWebhook(i int) (tenant int, body []byte) {
	const pnid = "123456123"
	at := 1739321024 + int64(i)
	if i%5 < 3 {
		c := (i * 7919) % 1000
		contact := fmt.Sprintf("1650555%04d", c)
		msg := fmt.Sprintf(benchMessages[i%len(benchMessages)], i)
		ctx := ""
		if i%7 == 0 {
			ctx = fmt.Sprintf(`,"context":{"from":"15550783881","id":"wamid.OUT.%d"}`, i/2)
		}
		return c, fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"contacts":[{"profile":{"name":"Customer %s"},"wa_id":%q}],"messages":[{"from":%q,"id":"wamid.IN.%d","timestamp":"%d"%s,%s}]},"field":"messages"}]}]}`,
			pnid, contact, contact, contact, i, at, ctx, msg)
	}
	j := i/5*2 + i%5 - 3 // the j-th status of the stream
	k := j / 3           // of the k-th outbound message
	c := (k * 7919) % 1000
	contact := fmt.Sprintf("1650555%04d", c)
	status := [...]string{"sent", "delivered", "read"}[j%3]
	return c, fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"statuses":[{"id":"wamid.OUT.%d","status":%q,"timestamp":"%d","recipient_id":%q,"conversation":{"id":"c%d","origin":{"type":"service"}},"pricing":{"billable":true,"pricing_model":"PMP","category":"service","type":"free_customer_service"}}]},"field":"messages"}]}]}`,
		pnid, k, status, at, contact, k)
}

// benchEvents are the first n webhooks of BenchmarkInboxProject as events
// of one tenant.
func benchEvents(n int) []Event {
	tenant := uuid.NewString()
	evs := make([]Event, n)
	for i := range evs {
		_, body := benchWebhook(i)
		evs[i] = Event{Seq: uint64(i + 1), Subject: streams.WebhookSubject(tenant), Tenant: tenant, Type: streams.TypeWebhookMeta, Data: body}
	}
	return evs
}

// BenchmarkInboxPrepare is what Prepare costs an event (decoding it and
// making it storable), over the webhooks of BenchmarkInboxProject.
func BenchmarkInboxPrepare(b *testing.B) {
	evs := benchEvents(1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev := &evs[i%len(evs)]
		if err := (Inbox{}).Prepare(ev); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkStorable is what the storable step of Prepare costs a decoded
// webhook that has nothing to fix, the common case.
func BenchmarkStorable(b *testing.B) {
	evs := benchEvents(1000)
	hooks := make([]domain.Webhook, len(evs))
	for i, ev := range evs {
		w, err := domain.DecodeWebhook(ev.Data)
		if err != nil {
			b.Fatal(err)
		}
		hooks[i] = w
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if cut := makeStorable(&hooks[i%len(hooks)]); cut != nil {
			b.Fatal(cut)
		}
		i++
	}
}
