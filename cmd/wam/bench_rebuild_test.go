package main

import (
	"testing"

	"github.com/wam-project/wam/sql/pgtest"
)

func TestBenchRebuild(t *testing.T) {
	var res struct {
		Events          int     `json:"events"`
		EventsPerS      float64 `json:"events_per_s"`
		LiveEventsPerS  float64 `json:"live_projection_events_per_s"`
		Ratio           float64 `json:"ratio"`
		ReadModelsEqual bool    `json:"read_models_equal"`

		APIRequestsBefore int     `json:"api_requests_before"`
		APIP99BeforeMs    float64 `json:"api_p99_before_ms"`
		APIRequestsDuring int     `json:"api_requests_during"`
		APIP99DuringMs    float64 `json:"api_p99_during_ms"`
		APIP99Ratio       float64 `json:"api_p99_ratio"`
		APIErrors         int     `json:"api_errors"`
	}
	runBench(t, map[string]string{"DATABASE_URL": pgtest.URL(t)}, &res, "rebuild", "-n", "1000", "--api-rate", "200", "--api-before", "1s")
	if res.Events != 1000 || res.EventsPerS <= 0 || res.LiveEventsPerS <= 0 || res.Ratio <= 0 || !res.ReadModelsEqual {
		t.Errorf("bench rebuild = %+v; want 1000 events, positive figures, equal read models", res)
	}
	// The API was read before and during the rebuild, every request answered.
	if res.APIRequestsBefore < 50 || res.APIP99BeforeMs <= 0 || res.APIRequestsDuring < 1 || res.APIP99DuringMs <= 0 ||
		res.APIP99Ratio <= 0 || res.APIErrors != 0 {
		t.Errorf("bench rebuild API figures = %+v; want requests in both phases, positive p99s, no errors", res)
	}
}
