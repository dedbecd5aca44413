// Package meta is Meta's side of wam: the Graph API client wam calls the
// WhatsApp Cloud API with (Client: graph*.go), a simulator faithful enough
// to test and demonstrate wam against (Simulator: simulator.go and sim_*.go,
// one file per concept: messages and their validation, statuses, media,
// templates, customers, webhooks out, stats, faults, the /_sim/ control
// endpoints), and a generator of Meta-shaped webhook bodies for benchmarks
// (WebhookGen: webhooks.go), whose byte-exact writers the simulator shares.
//
// contract_test.go holds the client's requests and the simulator's answers
// and webhooks to Meta's own OpenAPI description (testdata/meta-openapi).
package meta
