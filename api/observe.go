package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the HTTP layer's Prometheus series. Labels are route
// templates and outcomes, never ids, so their number stays small.
type metrics struct {
	requests *prometheus.HistogramVec // by method, route, status
	webhooks *prometheus.CounterVec   // by outcome
	publish  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wam_http_request_duration_seconds",
			Help:    "HTTP requests by method, route template and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wam_webhooks_total",
			Help: "Webhook POSTs by outcome: stored (for a tenant), unrouted, deferred (routing or signature checked later), undecodable (all stored too), rejected (bad signature or size), unavailable (503, Meta retries).",
		}, []string{"outcome"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wam_publish_duration_seconds",
			Help:    "Time from publishing an event to JetStream's ack.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1, 5},
		}),
	}
	reg.MustRegister(m.requests, m.webhooks, m.publish)
	return m
}

// observe records every request's latency and logs it with its request id
// and tenant. Successful webhook POSTs, by far the most frequent request,
// are logged at debug level only.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // writes the response now, so its status is known
		}
		req, res := c.Request(), c.Response()
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		s.metrics.requests.WithLabelValues(req.Method, route, strconv.Itoa(res.Status)).Observe(took.Seconds())
		level := slog.LevelInfo
		if route == "/api/webhook" && res.Status == http.StatusOK {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("request_id", res.Header().Get(echo.HeaderXRequestID)),
			slog.String("method", req.Method),
			slog.String("route", route),
			slog.Int("status", res.Status),
			slog.Duration("took", took),
		}
		if p, ok := c.Get(principalKey).(Principal); ok {
			attrs = append(attrs, slog.String("tenant_id", p.TenantID.String()))
		}
		s.log.LogAttrs(req.Context(), level, "request", attrs...)
		return nil
	}
}

// Metrics serves the registry in Prometheus' text format.
func (s handlers) Metrics(c echo.Context) error {
	promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}
