package notification

import (
	"net/http"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func (h *Handler) preferences(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.Preferences(r.Context(), authn.MustUser(r.Context()).ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, p)
}

func (h *Handler) setPreferences(w http.ResponseWriter, r *http.Request) {
	var in Preferences
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.svc.SetPreferences(r.Context(), authn.MustUser(r.Context()).ID, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, p)
}
