package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
)

// tenantCreate bootstraps a tenant with its first API key. The key is
// printed once and only its hash is stored.
func tenantCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("tenant create", stderr)
	cfg.register(fs, getenv)
	name := fs.String("name", "", "the tenant's (business's) `name` (required)")
	perMin := fs.Int("requests-per-minute", 600, "API requests per `minute` the tenant's plan allows")
	msgsPerMin := fs.Int("messages-per-minute", 6000, "messages per `minute` the tenant's plan lets it send")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	*name = strings.TrimSpace(*name)
	if *name == "" || len(*name) > 200 {
		return errors.New("--name is required (1 to 200 characters)")
	}
	if *perMin < 1 || *perMin > 1_000_000 {
		return errors.New("--requests-per-minute: 1 to 1000000")
	}
	if *msgsPerMin < 1 || *msgsPerMin > 10_000_000 {
		return errors.New("--messages-per-minute: 1 to 10000000")
	}
	d, err := openCommandDatabase(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer d.Close()

	key, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	tx, err := d.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	q := db.New(tx)
	t, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: *name})
	if err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	if err := q.SetTenantQuota(ctx, db.SetTenantQuotaParams{ID: t.ID, ApiRequestsPerMinute: int32(*perMin), MessagesPerMinute: int32(*msgsPerMin)}); err != nil {
		return fmt.Errorf("set quota: %w", err)
	}
	if _, err := q.CreateAPIKey(ctx, db.CreateAPIKeyParams{
		ID: uuid.New(), TenantID: t.ID, Name: "bootstrap", Prefix: key.Prefix, Hash: key.Hash,
	}); err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	return printJSON(stdout, map[string]string{"tenant_id": t.ID.String(), "name": t.Name, "api_key": key.Secret})
}

// numberAdd connects a WhatsApp phone number to a tenant, so its webhooks
// are routed there.
func numberAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("number add", stderr)
	cfg.register(fs, getenv)
	tenant := fs.String("tenant", "", "tenant `id` (required)")
	pnid := fs.String("phone-number-id", "", "Meta's phone number `id` (required; not the phone number itself)")
	display := fs.String("display-phone-number", "", "the phone `number`, e.g. +15550001234 (required)")
	waba := fs.String("waba-id", "", "WhatsApp Business Account `id` (routes template status updates)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	tid, err := uuid.Parse(*tenant)
	if err != nil {
		return errors.New("--tenant must be a tenant id as printed by `wam tenant create`")
	}
	if !domain.ValidMetaID(*pnid) {
		return errors.New("--phone-number-id is required: Meta's numeric phone number id")
	}
	if *waba != "" && !domain.ValidMetaID(*waba) {
		return errors.New("--waba-id must be Meta's numeric WhatsApp Business Account id")
	}
	phone, err := domain.NormalizePhone(*display)
	if err != nil {
		return fmt.Errorf("--display-phone-number %q: %w", *display, err)
	}
	d, err := openCommandDatabase(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer d.Close()
	n, err := db.New(d.Pool).AddPhoneNumber(ctx, db.AddPhoneNumberParams{
		ID: uuid.New(), TenantID: tid, PhoneNumberID: *pnid, DisplayPhoneNumber: phone, WabaID: *waba,
	})
	switch {
	case dberr.Is(err, pgerrcode.UniqueViolation):
		return fmt.Errorf("phone number id %s already belongs to a tenant", *pnid)
	case dberr.Is(err, pgerrcode.ExclusionViolation): // phone_numbers_waba_one_tenant, its only exclusion constraint
		return fmt.Errorf("WhatsApp Business Account %s belongs to another tenant: a WABA's numbers all go to one tenant", *waba)
	case dberr.Is(err, pgerrcode.ForeignKeyViolation): // its only foreign key is the tenant's
		return fmt.Errorf("no tenant %s", tid)
	case err != nil:
		return fmt.Errorf("add number: %w", err)
	}
	return printJSON(stdout, map[string]string{
		"id": n.ID.String(), "tenant_id": n.TenantID.String(), "phone_number_id": n.PhoneNumberID,
		"display_phone_number": n.DisplayPhoneNumber, "waba_id": n.WabaID,
	})
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
