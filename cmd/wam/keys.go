package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/sql/db"
)

// keysRotate re-encrypts every stored credential under the active key of
// ENCRYPTION_KEY. Rotation: put a new key first in ENCRYPTION_KEY (keeping
// the old one after it), restart wam, run this, then drop the old key.
func keysRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("keys rotate", stderr)
	cfg.register(fs, getenv)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	ring, err := auth.LoadKeyRing(getenv("ENCRYPTION_KEY"), cfg.DataDir)
	if err != nil {
		return err
	}
	d, err := openCommandDatabase(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer d.Close()
	rotated, kept := 0, 0
	err = pgx.BeginTxFunc(ctx, d.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := db.New(tx)
		rows, err := q.AllNumberSecrets(ctx)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.SecretKeyID == ring.ActiveKey() {
				kept++
				continue
			}
			set := db.SetNumberSecretsParams{ID: r.ID, SecretKeyID: ring.ActiveKey()}
			for _, sec := range []struct {
				field string
				enc   []byte
				dst   *[]byte
			}{
				{"access_token", r.AccessTokenEnc, &set.AccessTokenEnc},
				{"app_secret", r.AppSecretEnc, &set.AppSecretEnc},
				{"verify_token", r.VerifyTokenEnc, &set.VerifyTokenEnc},
			} {
				if sec.enc == nil {
					continue
				}
				aad := auth.CredentialAAD(r.TenantID, r.PhoneNumberID, sec.field)
				plain, err := ring.Decrypt(r.SecretKeyID, sec.enc, aad)
				if err != nil {
					return fmt.Errorf("number %s %s: %w", r.PhoneNumberID, sec.field, err)
				}
				if _, *sec.dst, err = ring.Encrypt(plain, aad); err != nil {
					return err
				}
			}
			if err := q.SetNumberSecrets(ctx, set); err != nil {
				return err
			}
			rotated++
		}
		return nil
	})
	if errors.Is(err, auth.ErrUndecryptable) {
		return fmt.Errorf("%w; is the old key still listed in ENCRYPTION_KEY?", err)
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, map[string]any{"active_key": ring.ActiveKey(), "rotated": rotated, "already_current": kept})
}
