package workflow

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/workflows"
)

func (h *Handler) listSLAPolicies(w http.ResponseWriter, r *http.Request) {
	policies, err := h.store.SLAPolicies(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, httpx.List[workflows.SLAPolicy]{Items: policies})
}

func (h *Handler) getSLAPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := h.store.SLAPolicy(r.Context(), chi.URLParam(r, "priority"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, p)
}

// putSLAPolicy replaces the policy of the path's priority. The body may
// leave out priority, or must repeat the path's.
func (h *Handler) putSLAPolicy(w http.ResponseWriter, r *http.Request) {
	priority := chi.URLParam(r, "priority")
	if !slices.Contains(workflows.Priorities, priority) {
		h.fail(w, r, errNoPriority)
		return
	}
	var in workflows.SLAPolicy
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.Priority != "" && in.Priority != priority {
		h.fail(w, r, apperr.WithFields(apperr.Unprocessable, "the SLA policy is invalid",
			apperr.FieldError{Field: "priority", Message: "must be the priority of the path, or left out"}))
		return
	}
	in.Priority = priority
	p, err := h.store.SaveSLAPolicy(r.Context(), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, p)
}
