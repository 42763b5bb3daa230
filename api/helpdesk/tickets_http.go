package helpdesk

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func (h *Handler) createTicket(w http.ResponseWriter, r *http.Request) {
	var in NewTicket
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.svc.CreateTicket(r.Context(), authn.MustUser(r.Context()), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/tickets/"+t.ID)
	httpx.JSON(w, http.StatusCreated, t)
}

func (h *Handler) getTicket(w http.ResponseWriter, r *http.Request) {
	t, err := h.svc.Ticket(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, t)
}

func (h *Handler) ticketHistory(w http.ResponseWriter, r *http.Request) {
	entries, err := h.svc.History(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if entries == nil {
		entries = []HistoryEntry{}
	}
	httpx.JSON(w, http.StatusOK, httpx.List[HistoryEntry]{Items: entries})
}

// ticketPatchRequest is TicketPatch as a request body. It knows the fields
// only the workflow engine writes, so that sending them is answered with
// where to go rather than "unknown field".
type ticketPatchRequest struct {
	TicketPatch
	Status     json.RawMessage `json:"status"`
	Step       json.RawMessage `json:"step"`
	AssigneeID json.RawMessage `json:"assignee_id"`
}

func (h *Handler) patchTicket(w http.ResponseWriter, r *http.Request) {
	var req ticketPatchRequest
	if err := httpx.Decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if req.Status != nil || req.Step != nil || req.AssigneeID != nil {
		h.fail(w, r, apperr.New(apperr.Forbidden,
			"status, step and assignee change through the workflow: POST /workflow/tickets/{id}/transitions or /assignee"))
		return
	}
	t, err := h.svc.UpdateTicket(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), req.TicketPatch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, t)
}

func (h *Handler) listTickets(w http.ResponseWriter, r *http.Request) {
	f, err := h.ticketFilter(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.svc.ListTickets(r.Context(), authn.MustUser(r.Context()), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list := httpx.List[Ticket]{Items: page.Items}
	if list.Items == nil {
		list.Items = []Ticket{}
	}
	if page.Next != nil {
		list.NextCursor = h.cursors.Encode(page.Next)
	}
	httpx.JSON(w, http.StatusOK, list)
}

// ticketFilter reads a list's query parameters. Their values are checked
// by the service; here only their syntax.
func (h *Handler) ticketFilter(q url.Values) (TicketFilter, error) {
	f := TicketFilter{
		Status:      Status(q.Get("status")),
		Priority:    Priority(q.Get("priority")),
		CategoryID:  q.Get("category_id"),
		AssigneeID:  q.Get("assignee_id"),
		RequesterID: q.Get("requester_id"),
		Query:       q.Get("q"),
		Sort:        TicketSort(q.Get("sort")),
	}
	var errs fieldErrors
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs.add("limit", "must be a number from 1 to 100")
		}
		f.Limit = n
	}
	f.CreatedAfter = parseTime(&errs, "created_after", q.Get("created_after"))
	f.CreatedBefore = parseTime(&errs, "created_before", q.Get("created_before"))
	if err := errs.err(apperr.Invalid, "invalid query"); err != nil {
		return TicketFilter{}, err
	}
	if v := q.Get("cursor"); v != "" {
		var pos TicketPosition
		if err := h.cursors.Decode(v, &pos); err != nil {
			return TicketFilter{}, err
		}
		f.After = &pos
	}
	return f, nil
}

// parseTime reads an RFC 3339 time, adding an error when s is not one.
func parseTime(errs *fieldErrors, field, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		errs.add(field, "must be an RFC 3339 time, such as 2026-11-03T09:00:00Z")
	}
	return t
}
