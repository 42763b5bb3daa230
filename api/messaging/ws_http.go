package messaging

import (
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
)

func (h *Handler) issueWSTicket(w http.ResponseWriter, r *http.Request) {
	t, err := h.svc.IssueWSTicket(r.Context(), authn.MustUser(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, t)
}

// serveWS opens a WebSocket. Everything that can be refused is refused
// before the upgrade, with a problem document: a foreign origin (403), a
// request that is no upgrade (400), a missing, expired or spent ticket
// (401). The origin is checked first, so a foreign page cannot burn a
// user's ticket.
func (h *Handler) serveWS(w http.ResponseWriter, r *http.Request) {
	if !h.originAllowed(r.Header.Get("Origin")) {
		h.fail(w, r, apperr.New(apperr.Forbidden, "this origin may not open the WebSocket"))
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		h.fail(w, r, apperr.New(apperr.Invalid, "a WebSocket upgrade is expected here"))
		return
	}
	u, err := h.svc.redeemWSTicket(r.Context(), r.URL.Query().Get("ticket"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name, err := userName(r.Context(), h.svc.pool, u.ID)
	if err != nil {
		// A missing name only makes presence less friendly.
		logging.FromContext(r.Context(), h.log).Warn("websocket user name", "user_id", u.ID, "err", err)
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	logging.FromContext(r.Context(), h.log).Debug("websocket opened", "user_id", u.ID)
	// The connection outlives this request: the hub serves it from here.
	h.svc.hub.attach(ws, u, name)
}
