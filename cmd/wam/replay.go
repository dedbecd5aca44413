package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/ingest"
	"github.com/wam-project/wam/ops"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// replay selects webhooks of the history and re-projects them through the
// inbox projector's code (a fixed decoder corrects history), or adopts the
// unrouted webhooks whose numbers have owners now, as a job recorded on the
// stream, with a progress bar. It runs the job itself unless a `wam serve`
// sharing its database and NATS already does, and then shows that one's
// progress. The jobs and their progress are also at GET /api/ops/replays.
func replay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("replay", stderr)
	cfg.register(fs, getenv)
	mode := fs.String("mode", ops.ModeReproject, "reproject (apply again through the projector's code) or adopt_unrouted")
	tenant := fs.String("tenant", "", "only this tenant's webhooks (a tenant `id`)")
	unrouted := fs.Bool("unrouted", false, "only the unrouted webhooks")
	fromSeq := fs.Uint64("from-seq", 0, "first stream `sequence` (inclusive)")
	toSeq := fs.Uint64("to-seq", 0, "last stream `sequence` (inclusive; 0: the last event now)")
	from := fs.String("from", "", "received at or after this RFC 3339 `time`")
	to := fs.String("to", "", "received before this RFC 3339 `time`")
	pnid := fs.String("phone-number-id", "", "only webhooks naming this Meta phone number `id`")
	kind := fs.String("kind", "", "only webhooks with this `kind` of change: messages, statuses, errors, message_template_status_update…")
	result := fs.String("result", "", "only webhooks with this decode `result`: ok, partial, undecodable, parked")
	wamid := fs.String("wamid", "", "only webhooks carrying this `wamid` (the message, or a status of it)")
	contactPhone := fs.String("contact-phone", "", "only webhooks naming this person's `number` (E.164 or wa_id)")
	dryRun := fs.Bool("dry-run", false, "print how many events match, and replay nothing")
	rate := fs.Float64("rate", 2000, "at most this many `events` per second, so that live webhooks keep their latency")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	f := ops.Filter{Unrouted: *unrouted, PhoneNumberID: *pnid, Kind: *kind, Result: *result, WAMID: *wamid, ContactPhone: *contactPhone,
		FromSeq: *fromSeq, ToSeq: *toSeq}
	if *tenant != "" {
		id, err := uuid.Parse(*tenant)
		if err != nil {
			return errors.New("--tenant: a tenant id (uuid)")
		}
		f.Tenant = &id
	}
	for _, t := range []struct {
		flag, v string
		to      **time.Time
	}{{"--from", *from, &f.From}, {"--to", *to, &f.To}} {
		if t.v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return fmt.Errorf("%s: an RFC 3339 time such as 2026-01-02T15:04:05Z", t.flag)
		}
		*t.to = &at
	}
	if *rate <= 0 {
		return errors.New("--rate: more than 0")
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

	pub := streams.NewPublisher(b.Publish...)
	q := db.New(d.Pool)
	inbox := projections.NewInbox(d.Pool, b.JS, log, projections.Options{})
	keys, err := auth.LoadKeyRing(getenv("ENCRYPTION_KEY"), cfg.DataDir)
	if err != nil {
		return fmt.Errorf("credential encryption key: %w", err)
	}
	adopter := ingest.NewAdopter(q, b.JS, pub, ingest.NewRouter(q, ingest.RouterOptions{Logger: log}),
		ingest.NewSecrets(q, keys, ingest.RouterOptions{Logger: log}), log, ingest.AdopterOptions{Checkpoint: inbox.Checkpoint})
	svc := ops.New(d.Pool, b.JS, pub, ops.Options{Projectors: []ops.Reprojector{inbox}, Adopter: adopter, Rate: *rate, Logger: log})

	job, err := svc.RequestReplay(ctx, ops.Actor{CLI: true}, ops.ReplayRequest{Mode: *mode, Filter: f, DryRun: *dryRun})
	var de *domain.Error
	if errors.As(err, &de) {
		return errors.New(de.Message)
	}
	if err != nil {
		return err
	}
	if *dryRun {
		return printJSON(stdout, map[string]any{"dry_run": true, "matched": job.Matched})
	}
	fmt.Fprintf(stderr, "replay %s: %s, %d events\n", job.ID, job.Mode, job.Matched)

	// The projectors the job needs, unless a serve runs them (their locks
	// then make these wait): the jobs' read model, and the inbox (adopted
	// copies are projected by it).
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	for _, r := range []*projections.Runner{projections.NewRunner(d.Pool, b.JS, ops.JobsProjection{}, log, projections.Options{}), inbox} {
		go func() {
			if err := r.Run(runCtx); err != nil {
				log.Error("projector", "projector", r.Name(), "err", err)
			}
		}()
	}
	bar := &progressBar{w: stderr}
	for {
		if _, err := svc.GetReplay(ctx, ops.Actor{CLI: true}, job.ID); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	ran, err := svc.RunJob(ctx, job.ID, bar.show)
	if err != nil {
		bar.done()
		return err
	}
	if !ran {
		fmt.Fprintln(stderr, "a running wam serve has the job; its progress:")
		for {
			j, err := svc.GetReplay(ctx, ops.Actor{CLI: true}, job.ID)
			if err != nil {
				return err
			}
			bar.show(j)
			if j.State != ops.StateRequested && j.State != ops.StateRunning {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
	bar.done()
	j, err := svc.GetReplay(ctx, ops.Actor{CLI: true}, job.ID)
	for err == nil && (j.State == ops.StateRequested || j.State == ops.StateRunning) {
		// The finishing event is published; the read model follows.
		time.Sleep(50 * time.Millisecond)
		j, err = svc.GetReplay(ctx, ops.Actor{CLI: true}, job.ID)
	}
	if err != nil {
		return err
	}
	if j.State == ops.StateFailed {
		return fmt.Errorf("replay %s failed: %s", j.ID, j.Error)
	}
	return printJSON(stdout, map[string]any{"id": j.ID, "state": j.State, "matched": j.Matched, "done": j.Done})
}

// progressBar draws a job's progress on one line of w.
type progressBar struct {
	w     io.Writer
	drawn bool
}

func (p *progressBar) show(j ops.Job) {
	const width = 30
	frac := 1.0
	if j.Matched > 0 {
		frac = min(1, float64(j.Done)/float64(j.Matched))
	}
	n := int(frac * width)
	eta := ""
	if d := j.ETA(); d > 0 {
		eta = ", ETA " + d.String()
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %3.0f%% %.0f/s %s%s   ", strings.Repeat("#", n), strings.Repeat(".", width-n),
		j.Done, j.Matched, frac*100, j.Rate, j.State, eta)
	p.drawn = true
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
