package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
)

// EraseTimeout bounds an erasure requested through the API: it reads the
// tenant's whole history.
const EraseTimeout = 5 * time.Minute

// EraseContact erases a contact of the principal's tenant for good (owners
// only, by the contract); the rules are package erasure's.
func (s handlers) EraseContact(c echo.Context, id apigen.ID) error {
	if s.cfg.Erasure == nil {
		return domain.Errorf(domain.ErrUnavailable, "erasure is not run by this server")
	}
	p := principal(c)
	res, err := s.cfg.Erasure.Erase(c.Request().Context(), actor(c), p.TenantID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apigen.Erasure{ContactId: res.ContactID, EventsDeleted: res.EventsDeleted,
		EventsRewritten: res.EventsRewritten, MediaDeleted: res.MediaDeleted, RowsDeleted: res.RowsDeleted,
		TombstoneSeq: res.TombstoneSeq})
}
