package workflow

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/workflows"
)

// getDefinition serves the category's process: the latest saved version,
// or the default (version 0).
func (h *Handler) getDefinition(w http.ResponseWriter, r *http.Request) {
	d, err := h.store.Definition(r.Context(), chi.URLParam(r, "category_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, d)
}

// putDefinition saves a new version of the category's process; tickets
// opened afterwards follow it.
func (h *Handler) putDefinition(w http.ResponseWriter, r *http.Request) {
	categoryID, ok := canonicalID(chi.URLParam(r, "category_id"))
	if !ok {
		h.fail(w, r, errNoCategory)
		return
	}
	var in workflows.Definition
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.store.SaveDefinition(r.Context(), categoryID, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, d)
}
