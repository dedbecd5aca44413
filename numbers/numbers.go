// Package numbers gives the workers that act at Meta for a tenant (the
// sender, template sync, media downloads) what they need of its connected
// numbers: the access token, decrypted in memory only, and the limits.
package numbers

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/sql/db"
)

// Number is a connected number with its token.
type Number struct {
	Tenant        uuid.UUID
	PhoneNumberID string
	WABAID        string
	PerSecond     int    // the number's messages per second
	PerMinute     int    // the tenant's plan: messages per minute
	Token         string // "" when none was given (connected by the CLI)
	Sealed        []byte // the token as stored, to tell a replaced one
	TokenValid    bool   // false once Meta refused the token (code 190)
}

// ErrNoNumber: no such number is connected (for that tenant).
var ErrNoNumber = errors.New("the number is not connected")

// Credentials reads numbers and decrypts their tokens.
type Credentials struct {
	q    *db.Queries
	keys *auth.KeyRing
}

// NewCredentials returns Credentials reading through q, decrypting with keys.
func NewCredentials(q *db.Queries, keys *auth.KeyRing) *Credentials {
	return &Credentials{q: q, keys: keys}
}

// Number is phone number pnid of tenant.
func (c *Credentials) Number(ctx context.Context, tenant uuid.UUID, pnid string) (Number, error) {
	row, err := c.q.SenderNumber(ctx, pnid)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && row.TenantID != tenant {
		return Number{}, ErrNoNumber
	}
	if err != nil {
		return Number{}, fmt.Errorf("read number %s: %w", pnid, err)
	}
	return c.open(db.WABANumbersRow(row))
}

// ForWABA is a number of tenant in WhatsApp Business Account waba that may
// act for it, one with a working token if there is one.
func (c *Credentials) ForWABA(ctx context.Context, tenant uuid.UUID, waba string) (Number, error) {
	rows, err := c.q.WABANumbers(ctx, db.WABANumbersParams{TenantID: tenant, WabaID: waba})
	if err != nil {
		return Number{}, fmt.Errorf("read the numbers of WABA %s: %w", waba, err)
	}
	if len(rows) == 0 {
		return Number{}, ErrNoNumber
	}
	return c.open(rows[0])
}

func (c *Credentials) open(row db.WABANumbersRow) (Number, error) {
	n := Number{Tenant: row.TenantID, PhoneNumberID: row.PhoneNumberID, WABAID: row.WabaID,
		PerSecond: int(row.MessagesPerSecond), PerMinute: int(row.MessagesPerMinute),
		Sealed: row.AccessTokenEnc, TokenValid: row.TokenStatus == "valid"}
	if row.AccessTokenEnc == nil {
		return n, nil
	}
	plain, err := c.keys.Decrypt(row.SecretKeyID, row.AccessTokenEnc, auth.CredentialAAD(row.TenantID, row.PhoneNumberID, "access_token"))
	if err != nil {
		return Number{}, fmt.Errorf("decrypt the access token of number %s: %w", row.PhoneNumberID, err)
	}
	n.Token = string(plain)
	return n, nil
}
