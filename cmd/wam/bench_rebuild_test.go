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
	}
	runBench(t, map[string]string{"DATABASE_URL": pgtest.URL(t)}, &res, "rebuild", "-n", "1000")
	if res.Events != 1000 || res.EventsPerS <= 0 || res.LiveEventsPerS <= 0 || res.Ratio <= 0 || !res.ReadModelsEqual {
		t.Errorf("bench rebuild = %+v; want 1000 events, positive figures, equal read models", res)
	}
}
