package api

import (
	"github.com/labstack/echo/v4"

	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
)

// EraseContact erases a contact of the principal's tenant for good.
func (s handlers) EraseContact(c echo.Context, id apigen.ID) error {
	return domain.Errorf(domain.ErrUnavailable, "erasure is not built yet")
}
