package templates

import (
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/messaging"
)

// CheckSend is the check a template send must pass before it is published
// (messaging.Checks.Template), on the template the send's context read
// (found): the template exists for the WABA of the sending number with
// that name and language, is not deleted, is APPROVED (else a conflict
// saying its status: PAUSED, REJECTED…), and the send's components fill
// the template's (checkParams: a 400 naming the component).
//
// A number connected without its WABA id cannot be checked, nor the
// parameters of a template known only from status updates (no listing has
// given its components yet): Meta's answer decides then.
func CheckSend(tm messaging.NamedTemplate, t *domain.OutTemplate) error {
	switch {
	case tm.WABA == "":
		return nil
	case !tm.Found:
		return invalid("template.name", "WhatsApp Business Account %s has no template %s in %s (templates are listed from Meta every 6 hours, and at POST /api/templates/sync)",
			tm.WABA, t.Name, t.Language.Code)
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
