package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"
	"github.com/wam-project/wam/api/apigen"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/live"
	"github.com/wam-project/wam/sql/db"
)

// LiveSocket upgrades to the live inbox's WebSocket and hands it to the
// hub (live.Hub), which authenticates it by its first frame: nothing of
// the token is in the URL or the request's log line.
func (s handlers) LiveSocket(c echo.Context) error {
	if s.cfg.Live == nil {
		return domain.Errorf(domain.ErrUnavailable, "the live inbox is not running in this process")
	}
	w, r := c.Response(), c.Request()
	// The HTTP server's deadlines bound requests, not a connection that
	// stays open all day; the hub has its own (auth, writes, pings).
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	opts := &websocket.AcceptOptions{}
	if u, err := url.Parse(s.cfg.FrontendURL); err == nil && u.Host != "" {
		// Same origin always; a separate front end (FRONTEND_URL) too.
		opts.OriginPatterns = []string{u.Host}
	}
	ws, err := websocket.Accept(w, r, opts)
	if err != nil {
		return nil // Accept has answered the request (426, 403)
	}
	s.cfg.Live.Serve(ws)
	return nil
}

// LiveEncoder shows the live inbox's rows exactly as the read API does.
func LiveEncoder() live.Encoder { return liveEncoder{} }

type liveEncoder struct{}

func (liveEncoder) Message(m db.Message) any { return messageOf(m) }

func (liveEncoder) Conversation(r db.LiveConversationsRow) any {
	return conversationOf(db.ConversationViewRow{
		ID: r.ID, PhoneNumberID: r.PhoneNumberID, Status: r.Status, UnreadCount: r.UnreadCount,
		LastMessageAt: r.LastMessageAt, LastMessagePreview: r.LastMessagePreview, WindowExpiresAt: r.WindowExpiresAt,
		CreatedAt: r.CreatedAt, LastSeq: r.LastSeq, AssigneeID: r.AssigneeID, SnoozedUntil: r.SnoozedUntil, Tags: r.Tags,
		WaID: r.WaID, UserID: r.UserID, Phone: r.Phone, ProfileName: r.ProfileName,
	})
}

func (liveEncoder) Note(n db.Note) any {
	return apigen.Note{Id: n.ID, AuthorId: null(n.AuthorID), Body: n.Body, CreatedAt: n.CreatedAt.UTC()}
}
