package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wam-project/wam/ops"
	"github.com/wam-project/wam/projections"
)

// opsCollector puts the figures of GET /api/ops/stats on /metrics, read
// at each scrape (within 2 s; a scrape that cannot get them reports none).
type opsCollector struct {
	ops   *ops.Service
	descs map[string]*prometheus.Desc
}

func newOpsCollector(s *ops.Service) *opsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &opsCollector{ops: s, descs: map[string]*prometheus.Desc{
		"messages":    d("wam_stream_messages", "Events in the WAM stream."),
		"bytes":       d("wam_stream_bytes", "Bytes of the WAM stream."),
		"tenant":      d("wam_stream_tenant_events", "Events in the WAM stream by tenant token (_unrouted, _ops included).", "tenant"),
		"lag_seconds": d("wam_projector_lag_seconds", "How long the first event after the projector's checkpoint has waited.", "projector"),
		"state": d("wam_projector_state", "1 for what this process's runner of the projector does now (stopped, starting, standby, running, "+
			"yielding, retrying, backing_off; unknown: not run here), 0 for the other states.", "projector", "state"),
		"pending":     d("wam_sender_pending", "Send requests not yet delivered to the sender."),
		"in_flight":   d("wam_sender_in_flight", "Send requests delivered to the sender and not yet settled (sending, or waiting to retry)."),
		"redelivered": d("wam_sender_redelivered", "Send requests delivered more than once."),
		"held":        d("wam_sender_held_numbers", "Numbers whose token Meta refused: their sends wait."),
		"queued":      d("wam_sender_queued", "Sends the read model shows waiting for the sender (requested, no outcome yet)."),
		"num_pending": d("wam_sender_number_pending", "Sends waiting from a number (the 50 with the most, and every held one).", "tenant", "phone_number_id"),
		"num_held":    d("wam_sender_number_held", "1 when Meta refused the number's token and its sends wait for a new one.", "tenant", "phone_number_id"),
		"active":      d("wam_sender_active", "1 when this process's sender is the active one (holds the sender lock)."),
		"retries":     d("wam_sender_retries_total", "Retries this process's sender scheduled after Meta refused a send for now or could not be reached."),
		"resent":      d("wam_sender_resent_total", "Sends made again by this process's sender after an attempt whose outcome never came."),
		"accepted":    d("wam_sender_accepted_total", "Sends Meta accepted from this process's sender."),
		"failed":      d("wam_sender_failed_total", "Sends this process's sender failed for good."),
		"media":       d("wam_media_files", "Media files by state.", "state"),
		"parked":      d("wam_parked_events", "Events projectors could not apply, by projector.", "projector"),
		"replays":     d("wam_replay_jobs", "Replay jobs by state.", "state"),
	}}
}

// projectorStates are the values of wam_projector_state's state label.
var projectorStates = []string{string(projections.RunnerStopped), string(projections.RunnerStarting), string(projections.RunnerStandby),
	string(projections.RunnerRunning), string(projections.RunnerYielding), string(projections.RunnerRetrying),
	string(projections.RunnerBackingOff), ops.StateUnknown}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Describe sends every metric's description.
func (c *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect reads the figures and sends them.
func (c *opsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.ops.Figures(ctx)
	if err != nil {
		return
	}
	g := func(key string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[key], prometheus.GaugeValue, v, labels...)
	}
	g("messages", float64(st.Stream.Messages))
	g("bytes", float64(st.Stream.Bytes))
	for t, n := range st.Stream.Tenants {
		g("tenant", float64(n), t)
	}
	for _, p := range st.Projectors {
		g("lag_seconds", p.LagSeconds, p.Name)
		for _, state := range projectorStates {
			g("state", boolValue(p.State == state), p.Name, state)
		}
	}
	g("pending", float64(st.Sender.Pending))
	g("in_flight", float64(st.Sender.InFlight))
	g("redelivered", float64(st.Sender.Redelivered))
	g("held", float64(st.Sender.HeldNumbers))
	g("queued", float64(st.Sender.Queued))
	for _, n := range st.Sender.ByNumber {
		g("num_pending", float64(n.Pending), n.TenantID.String(), n.PhoneNumberID)
		g("num_held", boolValue(n.Held), n.TenantID.String(), n.PhoneNumberID)
	}
	if st.Sender.InProcess {
		counter := func(key string, v int64) {
			ch <- prometheus.MustNewConstMetric(c.descs[key], prometheus.CounterValue, float64(v))
		}
		g("active", boolValue(st.Sender.Active))
		counter("retries", st.Sender.Retries)
		counter("resent", st.Sender.Resent)
		counter("accepted", st.Sender.Accepted)
		counter("failed", st.Sender.Failed)
	}
	g("media", float64(st.Media.Pending), "pending")
	g("media", float64(st.Media.Failed), "failed")
	g("media", float64(st.Media.Stored), "stored")
	for p, n := range st.Parked {
		g("parked", float64(n), p)
	}
	for s, n := range st.Replays {
		g("replays", float64(n), s)
	}
}
