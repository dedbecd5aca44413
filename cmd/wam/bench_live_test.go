package main

import (
	"testing"

	"github.com/wam-project/wam/sql/pgtest"
)

func TestBenchLive(t *testing.T) {
	var res liveBenchResult
	runBench(t, map[string]string{"DATABASE_URL": pgtest.URL(t)}, &res,
		"live", "--clients", "6", "--tenants", "3", "--rate", "40", "--duration", "1s", "--senders", "4")
	// 80 webhooks, each to the 2 clients of its tenant.
	if res.Clients != 6 || res.Webhooks != 80 || res.Events != 160 {
		t.Errorf("clients %d, webhooks %d, events %d; want 6, 80, 160", res.Clients, res.Webhooks, res.Events)
	}
	if res.Missed != 0 || res.Duplicated != 0 || res.CrossTenant != 0 {
		t.Errorf("missed %d, duplicated %d, cross-tenant %d", res.Missed, res.Duplicated, res.CrossTenant)
	}
	if res.P50Ms <= 0 || res.P99Ms < res.P50Ms {
		t.Errorf("p50 %v, p99 %v", res.P50Ms, res.P99Ms)
	}
}
