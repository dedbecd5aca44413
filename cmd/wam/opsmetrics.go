package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wam-project/wam/ops"
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
		"pending":     d("wam_sender_pending", "Send requests not yet delivered to the sender."),
		"in_flight":   d("wam_sender_in_flight", "Send requests delivered to the sender and not yet settled (sending, or waiting to retry)."),
		"redelivered": d("wam_sender_redelivered", "Send requests delivered more than once."),
		"held":        d("wam_sender_held_numbers", "Numbers whose token Meta refused: their sends wait."),
		"media":       d("wam_media_files", "Media files by state.", "state"),
		"parked":      d("wam_parked_events", "Events projectors could not apply, by projector.", "projector"),
		"replays":     d("wam_replay_jobs", "Replay jobs by state.", "state"),
	}}
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
	}
	g("pending", float64(st.Sender.Pending))
	g("in_flight", float64(st.Sender.InFlight))
	g("redelivered", float64(st.Sender.Redelivered))
	g("held", float64(st.Sender.HeldNumbers))
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
