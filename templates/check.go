package templates

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
)

// CheckSend is the check a template send must pass before it is published
// (messaging.Checks.Template), run through q in the send's transaction: the
// template exists for the WABA of the sending number with that name and
// language, is not deleted, is APPROVED (else a conflict saying its
// status: PAUSED, REJECTED…), and the send's components fill the
// template's (checkParams: a 400 naming the component).
//
// A number connected without its WABA id cannot be checked, nor the
// parameters of a template known only from status updates (no listing has
// given its components yet): Meta's answer decides then.
func CheckSend(ctx context.Context, q *db.Queries, tenant uuid.UUID, phoneNumberID string, t *domain.OutTemplate) error {
	waba, err := q.NumberWABA(ctx, db.NumberWABAParams{TenantID: tenant, PhoneNumberID: phoneNumberID})
	switch {
	case errors.Is(err, pgx.ErrNoRows) || err == nil && waba == "":
		return nil
	case err != nil:
		return err
	}
	rows, err := q.TemplatesNamed(ctx, db.TemplatesNamedParams{TenantID: tenant, WabaID: waba, Name: t.Name, Language: t.Language.Code})
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return invalid("template.name", "WhatsApp Business Account %s has no template %s in %s (templates are listed from Meta every 6 hours, and at POST /api/templates/sync)",
			waba, t.Name, t.Language.Code)
	}
	tm := rows[0] // the one not deleted, if any
	switch {
	case tm.Deleted:
		return invalid("template.name", "template %s in %s was deleted", t.Name, t.Language.Code)
	case tm.Status != domain.TemplateStatusApproved:
		return domain.Errorf(domain.ErrConflict, "template.name: template %s in %s is %s, not APPROVED: Meta does not send it", t.Name, t.Language.Code, tm.Status)
	case tm.SyncedAt == nil:
		return nil
	}
	sh, ok := parseShape(tm.Components)
	if !ok {
		return nil
	}
	return checkParams(t, sh)
}
