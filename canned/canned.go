// Package canned is the area of canned replies: texts an agent inserts by
// typing "/shortcut" in the composer, with variables such as
// {{contact.name}} that the app fills in. Everyone in a tenant reads them;
// owners and admins change them, as they change the tenant's other
// settings, and every change is in the audit log.
package canned

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
	"github.com/wam-project/wam/sql/rls"
)

// Variables are the names a canned reply's text may hold as {{name}}.
var Variables = []string{"contact.name", "contact.phone", "contact.wa_id", "agent.name", "tenant.name"}

// MaxText is the longest text, in characters: WhatsApp's limit of a text
// message's body.
const MaxText = 4096

// Service keeps the canned replies of every tenant.
type Service struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// New returns a Service over pool.
func New(pool *pgxpool.Pool, now func() time.Time) *Service { return &Service{pool: pool, now: now} }

// Change is what an update changes; nil fields stay.
type Change struct {
	Shortcut, Text *string
}

// List is the tenant's canned replies, by shortcut.
func (s *Service) List(ctx context.Context, by accounts.Actor) ([]db.CannedReply, error) {
	var out []db.CannedReply
	err := rls.InTenant(ctx, s.pool, by.TenantID, func(q *db.Queries) (err error) {
		out, err = q.ListCannedReplies(ctx, by.TenantID)
		return err
	})
	return out, err
}

// Create adds a canned reply.
func (s *Service) Create(ctx context.Context, by accounts.Actor, shortcut, text string) (db.CannedReply, error) {
	if err := mayChange(by); err != nil {
		return db.CannedReply{}, err
	}
	shortcut, err := cleanShortcut(shortcut)
	if err != nil {
		return db.CannedReply{}, err
	}
	if err := checkText(text); err != nil {
		return db.CannedReply{}, err
	}
	var r db.CannedReply
	err = rls.InTenant(ctx, s.pool, by.TenantID, func(q *db.Queries) (err error) {
		var creator *uuid.UUID
		if by.UserID != uuid.Nil {
			creator = &by.UserID
		}
		r, err = q.CreateCannedReply(ctx, db.CreateCannedReplyParams{
			ID: uuid.New(), TenantID: by.TenantID, Shortcut: shortcut, Text: text, CreatedBy: creator, Now: s.now(),
		})
		if err != nil {
			return taken(err, shortcut)
		}
		return accounts.Audit(ctx, q, by, by.TenantID, "canned_reply.created", r.ID.String(), map[string]any{"shortcut": r.Shortcut})
	})
	return r, err
}

// Update changes a canned reply's shortcut, text or both.
func (s *Service) Update(ctx context.Context, by accounts.Actor, id uuid.UUID, ch Change) (db.CannedReply, error) {
	if err := mayChange(by); err != nil {
		return db.CannedReply{}, err
	}
	if ch.Shortcut == nil && ch.Text == nil {
		return db.CannedReply{}, domain.Errorf(domain.ErrInvalid, "body: nothing to change (shortcut, text)")
	}
	if ch.Shortcut != nil {
		clean, err := cleanShortcut(*ch.Shortcut)
		if err != nil {
			return db.CannedReply{}, err
		}
		ch.Shortcut = &clean
	}
	if ch.Text != nil {
		if err := checkText(*ch.Text); err != nil {
			return db.CannedReply{}, err
		}
	}
	var r db.CannedReply
	err := rls.InTenant(ctx, s.pool, by.TenantID, func(q *db.Queries) error {
		old, err := q.GetCannedReply(ctx, db.GetCannedReplyParams{TenantID: by.TenantID, ID: id})
		if err != nil {
			return dberr.NotFound(err, "canned reply")
		}
		next := db.UpdateCannedReplyParams{TenantID: by.TenantID, ID: id, Shortcut: old.Shortcut, Text: old.Text, Now: s.now()}
		if ch.Shortcut != nil {
			next.Shortcut = *ch.Shortcut
		}
		if ch.Text != nil {
			next.Text = *ch.Text
		}
		if r, err = q.UpdateCannedReply(ctx, next); err != nil {
			return taken(dberr.NotFound(err, "canned reply"), next.Shortcut)
		}
		detail := map[string]any{"shortcut": r.Shortcut}
		if old.Shortcut != r.Shortcut {
			detail["was"] = old.Shortcut
		}
		return accounts.Audit(ctx, q, by, by.TenantID, "canned_reply.changed", id.String(), detail)
	})
	return r, err
}

// Delete removes a canned reply.
func (s *Service) Delete(ctx context.Context, by accounts.Actor, id uuid.UUID) error {
	if err := mayChange(by); err != nil {
		return err
	}
	return rls.InTenant(ctx, s.pool, by.TenantID, func(q *db.Queries) error {
		old, err := q.GetCannedReply(ctx, db.GetCannedReplyParams{TenantID: by.TenantID, ID: id})
		if err != nil {
			return dberr.NotFound(err, "canned reply")
		}
		if _, err := q.DeleteCannedReply(ctx, db.DeleteCannedReplyParams{TenantID: by.TenantID, ID: id}); err != nil {
			return err
		}
		return accounts.Audit(ctx, q, by, by.TenantID, "canned_reply.deleted", id.String(), map[string]any{"shortcut": old.Shortcut})
	})
}

// mayChange: canned replies are the tenant's settings, which owners and
// admins (and API keys, which act as admins) change.
func mayChange(by accounts.Actor) error {
	if by.Role != auth.RoleOwner && by.Role != auth.RoleAdmin {
		return domain.Errorf(domain.ErrForbidden, "only owners and admins change canned replies")
	}
	return nil
}

var shortcutPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// cleanShortcut is the shortcut as stored: without a leading "/", in
// lower case.
func cleanShortcut(s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "/"))
	if !shortcutPattern.MatchString(s) {
		return "", domain.Errorf(domain.ErrInvalid, "shortcut: 1 to 32 lower-case letters, digits, - and _, starting with a letter or digit")
	}
	return s, nil
}

var variable = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// checkText holds a text to WhatsApp's length and to the known variables.
func checkText(t string) error {
	if strings.TrimSpace(t) == "" {
		return domain.Errorf(domain.ErrInvalid, "text: must not be blank")
	}
	if n := utf8.RuneCountInString(t); n > MaxText {
		return domain.Errorf(domain.ErrInvalid, "text: at most %d characters, not %d", MaxText, n)
	}
	for _, m := range variable.FindAllStringSubmatch(t, -1) {
		known := false
		for _, v := range Variables {
			known = known || m[1] == v
		}
		if !known {
			return domain.Errorf(domain.ErrInvalid, "text: unknown variable {{%s}}; known: {{%s}}", m[1], strings.Join(Variables, "}}, {{"))
		}
	}
	return nil
}

// taken turns the uniqueness of shortcuts into a conflict naming it.
func taken(err error, shortcut string) error {
	if dberr.Is(err, pgerrcode.UniqueViolation) {
		return domain.Errorf(domain.ErrConflict, "shortcut: /%s is taken in this tenant", shortcut)
	}
	return err
}
