package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/erasure"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/rebuild"
)

const rebuildUsage = `Usage: wam rebuild [--projector inbox] [--tenant T]

Builds the read models again from the stream (from sequence 1, or from one
tenant's history with --tenant) into shadow tables while wam keeps serving
from the current ones, then swaps them in atomically and drops the old ones.
Progress goes to stderr every second; the job, as GET /api/ops/rebuilds/{id}
shows it, is the last line of stdout. Ctrl-C (or POST
/api/ops/rebuilds/{id}/cancel) cancels it: the shadow tables are dropped and
the read models stay as they were.

It runs in this process. While wam serve runs with its embedded NATS, give
--nats-url the address serve's --nats-listen opened (or use POST
/api/ops/rebuilds, which runs it inside serve); without a serve running it
opens the data dir's stream itself.

Flags:
`

// rebuildCmd is `wam rebuild`: see rebuildUsage.
func rebuildCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("rebuild", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), rebuildUsage)
		fs.PrintDefaults()
	}
	cfg.register(fs, getenv)
	projector := fs.String("projector", "inbox", "the `projector` whose read models are rebuilt (there is one: inbox)")
	tenant := fs.String("tenant", "", "rebuild only this tenant's rows, from its own history (a tenant `id`)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	req := rebuild.Request{Projector: *projector, Actor: "cli"}
	if *tenant != "" {
		id, err := uuid.Parse(*tenant)
		if err != nil {
			return errors.New("--tenant must be a tenant id as printed by `wam tenant create`")
		}
		req.Tenant = &id
	}
	log, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	d, err := openDatabase(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer d.Close()
	b, err := openStream(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	// The shadow leaves out erased contacts as the live projector does.
	key, err := erasure.LoadKey(getenv("WAM_ERASURE_KEY"), cfg.DataDir)
	if err != nil {
		return err
	}
	erased := erasure.New(d.Pool, b.JS, b.Media, nil, key, erasure.Options{Logger: log})
	if err := erased.Load(ctx); err != nil {
		return err
	}
	svc := rebuild.New(d.Pool, b.JS, rebuild.Options{Logger: log, Projection: projections.Inbox{Erased: erased.Erased}})
	defer svc.Close()
	job, err := svc.Run(ctx, req, func(j rebuild.Job) { fmt.Fprintln(stderr, progressLine(j)) })
	if errors.Is(err, rebuild.ErrCancelled) {
		if perr := printJSON(stdout, rebuildJSON(job)); perr != nil {
			return perr
		}
		return errors.New("rebuild cancelled: its shadow tables are dropped, the read models are as they were")
	}
	if err != nil {
		if c := domain.ErrorCode(err); c != domain.ErrInternal {
			return errors.New(domain.ErrorMessage(err))
		}
		return err
	}
	return printJSON(stdout, rebuildJSON(job))
}

// progressLine is one line of a rebuild's progress, with a bar.
func progressLine(j rebuild.Job) string {
	total := j.EventsDone + j.EventsLeft
	frac := 1.0
	if total > 0 {
		frac = float64(j.EventsDone) / float64(total)
	}
	const width = 30
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if float64(i) < frac*width {
			bar[i] = '#'
		}
	}
	eta := "-"
	if j.ETA != nil {
		eta = j.ETA.Round(time.Second).String()
	}
	return fmt.Sprintf("rebuild %s [%s] %3.0f%% %d/%d events, %.0f/s, ETA %s, %s",
		j.Projector, bar, 100*frac, j.EventsDone, total, j.EventsPerS, eta, j.State)
}

// rebuildJSON is the job as the API answers it.
func rebuildJSON(j rebuild.Job) map[string]any {
	out := map[string]any{
		"id": j.ID, "projector": j.Projector, "tenant_id": j.Tenant, "state": j.State, "checkpoint": j.Checkpoint,
		"events_done": j.EventsDone, "events_left": j.EventsLeft, "events_per_s": j.EventsPerS, "error": j.Error,
		"started_at": j.StartedAt.UTC(), "updated_at": j.UpdatedAt.UTC(), "finished_at": j.FinishedAt,
		"cancel_requested_at": j.CancelRequestedAt,
	}
	return out
}
