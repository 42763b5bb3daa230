package helpdesk

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func (h *Handler) listCategories(w http.ResponseWriter, r *http.Request) {
	all := false
	if v := r.URL.Query().Get("all"); v != "" {
		var err error
		if all, err = strconv.ParseBool(v); err != nil {
			h.fail(w, r, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "all", Message: "must be true or false"}))
			return
		}
	}
	if all && authn.MustUser(r.Context()).Role != authn.RoleAdmin {
		h.fail(w, r, apperr.New(apperr.Forbidden, "only admins see inactive categories"))
		return
	}
	cs, err := h.svc.Categories(r.Context(), all)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []Category{}
	}
	httpx.JSON(w, http.StatusOK, httpx.List[Category]{Items: cs})
}

func (h *Handler) getCategory(w http.ResponseWriter, r *http.Request) {
	c, err := h.svc.Category(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, c)
}

func (h *Handler) createCategory(w http.ResponseWriter, r *http.Request) {
	var in NewCategory
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.svc.CreateCategory(r.Context(), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/categories/"+c.ID)
	httpx.JSON(w, http.StatusCreated, c)
}

func (h *Handler) patchCategory(w http.ResponseWriter, r *http.Request) {
	var p CategoryPatch
	if err := httpx.Decode(r, &p); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.svc.UpdateCategory(r.Context(), chi.URLParam(r, "id"), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, c)
}

// deleteCategory deletes an unused category: 204, or 409 when tickets use
// it (archive it with PATCH {"active": false} instead).
func (h *Handler) deleteCategory(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteCategory(r.Context(), chi.URLParam(r, "id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
