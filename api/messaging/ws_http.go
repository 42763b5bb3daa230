package messaging

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"

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

// errDeactivated refuses the WebSocket of a deactivated account, whose
// access token may still be valid for a few minutes.
var errDeactivated = apperr.New(apperr.Unauthorized, "this account is deactivated")

// serveWS opens a WebSocket. Everything that can be refused is refused
// before the upgrade, with a problem document: a foreign origin (403), a
// request that is no valid WebSocket handshake (400), a missing, expired
// or spent ticket, or a deactivated account (401). The origin and the
// handshake are checked first, so neither a foreign page nor a broken
// client burns a user's ticket.
//
// The socket gets the role the ticket was issued with, unless the user
// directory knows a lesser one: an access token keeps a demoted user's
// old role for the rest of its life, and the socket must not.
func (h *Handler) serveWS(w http.ResponseWriter, r *http.Request) {
	if !h.originAllowed(r.Header.Get("Origin")) {
		h.fail(w, r, apperr.New(apperr.Forbidden, "this origin may not open the WebSocket"))
		return
	}
	if err := checkHandshake(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.svc.redeemWSTicket(r.Context(), r.URL.Query().Get("ticket"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	entry, known, err := lookupUser(r.Context(), h.svc.pool, u.ID, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if known && !entry.Active {
		h.fail(w, r, errDeactivated)
		return
	}
	u = socketUser(u, entry, known)
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	logging.FromContext(r.Context(), h.log).Debug("websocket opened", "user_id", u.ID, "role", u.Role)
	// The connection outlives this request: the hub serves it from here.
	c := h.svc.hub.attach(ws, u, entry.Name)
	if c == nil {
		return
	}
	// The user's rights may have changed since the directory was read, and
	// the hub may have closed the user's sockets before this one was
	// attached: read the directory once more.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), frameWorkTimeout)
	defer cancel()
	now, stillKnown, err := lookupUser(ctx, h.svc.pool, u.ID, false)
	switch {
	case err != nil:
		logging.FromContext(r.Context(), h.log).Warn("websocket: read the user again", "user_id", u.ID, "err", err)
		c.shutdown(websocket.CloseTryAgainLater, "try again")
	case stillKnown && !now.Active:
		c.shutdown(websocket.ClosePolicyViolation, reasonDeactivated)
	case stillKnown && socketUser(u, now, true).Role != u.Role:
		c.shutdown(websocket.ClosePolicyViolation, reasonRoleChanged)
	}
}

// roleRank orders the human roles by what they may see.
var roleRank = map[authn.Role]int{authn.RoleEmployee: 1, authn.RoleAgent: 2, authn.RoleAdmin: 3}

// socketUser is u with the lesser of its role and the directory's.
func socketUser(u authn.User, entry directoryUser, known bool) authn.User {
	if known && roleRank[entry.Role] < roleRank[u.Role] {
		u.Role = entry.Role
	}
	return u
}

// checkHandshake refuses, with Invalid, a request the upgrader would
// refuse: no Upgrade: websocket and Connection: upgrade, a version other
// than 13, or a missing or malformed Sec-WebSocket-Key (RFC 6455, 4.2.1).
func checkHandshake(w http.ResponseWriter, r *http.Request) error {
	if !websocket.IsWebSocketUpgrade(r) {
		return apperr.New(apperr.Invalid, "a WebSocket upgrade is expected here")
	}
	if !headerHasToken(r.Header, "Sec-Websocket-Version", "13") {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return apperr.New(apperr.Invalid, "only WebSocket version 13 is supported (Sec-WebSocket-Version)")
	}
	if key, err := base64.StdEncoding.DecodeString(r.Header.Get("Sec-Websocket-Key")); err != nil || len(key) != 16 {
		return apperr.New(apperr.Invalid, "Sec-WebSocket-Key must be the base64 of 16 bytes")
	}
	return nil
}

// headerHasToken reports whether a comma-separated header holds token.
func headerHasToken(header http.Header, name, token string) bool {
	for _, v := range header.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// upgradeError answers a handshake the upgrader refuses with a problem
// document, like every other error of the API.
func (h *Handler) upgradeError(w http.ResponseWriter, r *http.Request, status int, reason error) {
	code := apperr.Internal
	switch status {
	case http.StatusBadRequest:
		code = apperr.Invalid
	case http.StatusForbidden:
		code = apperr.Forbidden
	case http.StatusMethodNotAllowed:
		code = apperr.NotAllowed
	}
	if code == apperr.Internal {
		h.fail(w, r, reason) // logged, and shown only as "internal error"
		return
	}
	h.fail(w, r, apperr.New(code, "%s", reason.Error()))
}
