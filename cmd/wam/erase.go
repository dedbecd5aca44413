package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"
	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/erasure"
	"github.com/wam-project/wam/streams"
)

const eraseUsage = `Usage: wam erase --tenant T --phone P

Erases one person's data for good from a tenant: every event naming them
is securely deleted from the stream (a webhook that also holds other
people's data is published again without theirs), their media files are
deleted, their read-model rows deleted, and a contact.erased tombstone
(a keyed hash of their WhatsApp id, not the number) is kept so that no
replay, rebuild or redelivery by Meta brings them back. Audited in the
tenant's audit log. Prints what was removed.

Like wam rebuild, it needs the stream: while wam serve runs with its
embedded NATS, give --nats-url its --nats-listen address (or use POST
/api/contacts/{id}/erase).

Flags:
`

// eraseCmd is `wam erase`: see eraseUsage.
func eraseCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("erase", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), eraseUsage)
		fs.PrintDefaults()
	}
	cfg.register(fs, getenv)
	tenant := fs.String("tenant", "", "tenant `id` (required)")
	phone := fs.String("phone", "", "the person's phone `number`, E.164 (required)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	tid, err := uuid.Parse(*tenant)
	if err != nil {
		return errors.New("--tenant must be a tenant id as printed by `wam tenant create`")
	}
	if *phone == "" {
		return errors.New("--phone is required: the person's number, such as +15550001234")
	}
	key, err := erasure.LoadKey(getenv("WAM_ERASURE_KEY"), cfg.DataDir)
	if err != nil {
		return err
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
	svc := erasure.New(d.Pool, b.JS, b.Media, streams.NewPublisher(b.JS), key, erasure.Options{Logger: log})
	res, err := func() (erasure.Result, error) {
		id, err := svc.ContactByPhone(ctx, tid, *phone)
		if err != nil {
			return erasure.Result{}, err
		}
		return svc.Erase(ctx, accounts.Actor{TenantID: tid}, tid, id)
	}()
	if err != nil {
		if domain.ErrorCode(err) != domain.ErrInternal {
			return errors.New(domain.ErrorMessage(err))
		}
		return err
	}
	return printJSON(stdout, map[string]any{
		"contact_id": res.ContactID, "events_deleted": res.EventsDeleted, "events_rewritten": res.EventsRewritten,
		"media_deleted": res.MediaDeleted, "rows_deleted": res.RowsDeleted, "tombstone_seq": res.TombstoneSeq,
	})
}
