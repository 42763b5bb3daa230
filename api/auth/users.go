package auth

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	var in NewUser
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.svc.Register(r.Context(), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, u)
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	caller := authn.MustUser(r.Context())
	if caller.IsService() {
		h.fail(w, r, apperr.New(apperr.NotFound, "a service account has no user profile"))
		return
	}
	u, err := h.svc.User(r.Context(), caller.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, u)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.svc.User(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, u)
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := UserFilter{Query: q.Get("q"), Limit: defaultPageSize}
	if len(f.Query) > 200 {
		h.fail(w, r, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "q", Message: "must be at most 200 characters long"}))
		return
	}
	if v := q.Get("role"); v != "" {
		role, err := authn.ParseRole(v)
		if err != nil || !role.Valid() {
			h.fail(w, r, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "role", Message: "must be employee, agent or admin"}))
			return
		}
		f.Role = role
	}
	if v := q.Get("active"); v != "" {
		active, err := strconv.ParseBool(v)
		if err != nil {
			h.fail(w, r, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "active", Message: "must be true or false"}))
			return
		}
		f.Active = &active
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			h.fail(w, r, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "limit", Message: "must be a number from 1 to 200"}))
			return
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		var pos userPosition
		if err := h.cursors.Decode(v, &pos); err != nil {
			h.fail(w, r, err)
			return
		}
		f.After = &pos
	}
	users, next, err := h.svc.ListUsers(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page := httpx.List[User]{Items: users}
	if page.Items == nil {
		page.Items = []User{}
	}
	if next != nil {
		page.NextCursor = h.cursors.Encode(next)
	}
	httpx.JSON(w, http.StatusOK, page)
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request) {
	var p UserPatch
	if err := httpx.Decode(r, &p); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.svc.UpdateUser(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, u)
}
