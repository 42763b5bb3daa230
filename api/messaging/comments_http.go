package messaging

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func (h *Handler) createComment(w http.ResponseWriter, r *http.Request) {
	var in NewComment
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.svc.CreateComment(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, c)
}

func (h *Handler) listComments(w http.ResponseWriter, r *http.Request) {
	p, err := h.page(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	comments, next, err := h.svc.Comments(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeList(w, h, comments, next)
}

func (h *Handler) editComment(w http.ResponseWriter, r *http.Request) {
	var in CommentEdit
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.svc.EditComment(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, c)
}

func (h *Handler) deleteComment(w http.ResponseWriter, r *http.Request) {
	if _, err := h.svc.DeleteComment(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
