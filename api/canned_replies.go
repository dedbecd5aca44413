package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/canned"
	"github.com/wam-project/wam/sql/db"
)

func cannedReplyOf(r db.CannedReply) apigen.CannedReply {
	return apigen.CannedReply{Id: r.ID, Shortcut: r.Shortcut, Text: r.Text, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// ListCannedReplies lists the tenant's canned replies, by shortcut.
func (s handlers) ListCannedReplies(c echo.Context) error {
	rows, err := s.canned.List(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	out := apigen.CannedReplyList{Data: make([]apigen.CannedReply, len(rows))}
	for i, r := range rows {
		out.Data[i] = cannedReplyOf(r)
	}
	return c.JSON(http.StatusOK, out)
}

// CreateCannedReply adds a canned reply.
func (s handlers) CreateCannedReply(c echo.Context) error {
	var req apigen.CannedReplyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, err := s.canned.Create(c.Request().Context(), actor(c), req.Shortcut, req.Text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, cannedReplyOf(r))
}

// UpdateCannedReply changes a canned reply's shortcut or text.
func (s handlers) UpdateCannedReply(c echo.Context, id uuid.UUID) error {
	var req apigen.CannedReplyPatch
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, err := s.canned.Update(c.Request().Context(), actor(c), id, canned.Change{Shortcut: req.Shortcut, Text: req.Text})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cannedReplyOf(r))
}

// DeleteCannedReply deletes a canned reply.
func (s handlers) DeleteCannedReply(c echo.Context, id uuid.UUID) error {
	if err := s.canned.Delete(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
