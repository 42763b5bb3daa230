package helpdesk

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// putTicketState is the workflow engine recording a ticket's state.
func (h *Handler) putTicketState(w http.ResponseWriter, r *http.Request) {
	var c StateChange
	if err := httpx.Decode(r, &c); err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.svc.ApplyState(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, t)
}

// ticketAccess answers whether ?user_id, acting as ?role, may see a ticket.
func (h *Handler) ticketAccess(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var errs fieldErrors
	userID := q.Get("user_id")
	errs.checkUUID("user_id", userID)
	role, err := authn.ParseRole(q.Get("role"))
	if err != nil {
		errs.add("role", "must be employee, agent or admin")
	}
	if err := errs.err(apperr.Invalid, "invalid query"); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.svc.Access(r.Context(), chi.URLParam(r, "id"), userID, role)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, a)
}
