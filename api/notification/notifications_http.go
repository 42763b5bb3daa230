package notification

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// listResponse is a page of notifications: the list envelope of every
// Ticketflow list, with the caller's unread count for the bell.
type listResponse struct {
	Items       []Notification `json:"items"`
	NextCursor  string         `json:"next_cursor,omitempty"`
	UnreadCount int            `json:"unread_count"`
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	f, err := h.listFilter(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.svc.List(r.Context(), authn.MustUser(r.Context()).ID, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res := listResponse{Items: page.Items, UnreadCount: page.UnreadCount}
	if page.Next != nil {
		res.NextCursor = h.cursors.Encode(page.Next)
	}
	httpx.JSON(w, http.StatusOK, res)
}

// listFilter reads a list's query parameters.
func (h *Handler) listFilter(q url.Values) (ListFilter, error) {
	var f ListFilter
	if v := q.Get("unread"); v != "" {
		unread, err := strconv.ParseBool(v)
		if err != nil {
			return ListFilter{}, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "unread", Message: "must be true or false"})
		}
		f.UnreadOnly = unread
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return ListFilter{}, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "limit", Message: "must be a number from 1 to 100"})
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		var pos Position
		if err := h.cursors.Decode(v, &pos); err != nil {
			return ListFilter{}, err
		}
		f.After = &pos
	}
	return f, nil
}

func (h *Handler) read(w http.ResponseWriter, r *http.Request) {
	n, err := h.svc.MarkRead(r.Context(), authn.MustUser(r.Context()).ID, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, n)
}

func (h *Handler) readAll(w http.ResponseWriter, r *http.Request) {
	if _, err := h.svc.MarkAllRead(r.Context(), authn.MustUser(r.Context()).ID); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
