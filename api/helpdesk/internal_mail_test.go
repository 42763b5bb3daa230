package helpdesk_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

func TestMailTicket_OpensOnceByItsID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.category("Hardware")
	mapped := e.category("Network")
	jo := e.user("Jo", authn.RoleEmployee)
	id := uuid.NewString()
	body := map[string]string{"id": id, "requester_id": jo.id, "title": "Printer jams", "description": "It jams.", "category_id": mapped.ID}

	var tk helpdesk.Ticket
	e.do("POST", "/helpdesk/internal/mail-tickets", e.service, body).ok(t, http.StatusCreated, &tk)
	if tk.ID != id || tk.RequesterID != jo.id || tk.CategoryID != mapped.ID || tk.Status != helpdesk.StatusNew {
		t.Fatalf("ticket %+v", tk)
	}
	// Asked again (a retried activity): the same ticket, no second event.
	var again helpdesk.Ticket
	e.do("POST", "/helpdesk/internal/mail-tickets", e.service, body).ok(t, http.StatusOK, &again)
	if again.ID != id || again.CreatedAt != tk.CreatedAt {
		t.Fatalf("again %+v", again)
	}
	created := e.outboxEvents(events.TicketCreated)
	if len(created) != 1 {
		t.Fatalf("%d ticket.created events, want 1", len(created))
	}
	var data helpdesk.TicketCreated
	if err := created[0].DecodeData(&data); err != nil || data.ID != id || data.Channel != helpdesk.ChannelEmail {
		t.Fatalf("ticket.created data = %+v (%v), want ticket %s through %q", data, err, id, helpdesk.ChannelEmail)
	}
	// The same ID for another requester is a conflict.
	body["requester_id"] = uuid.NewString()
	e.do("POST", "/helpdesk/internal/mail-tickets", e.service, body).problem(t, http.StatusConflict)

	// No category, or one that is not active: the oldest active one.
	for _, cat := range []string{"", uuid.NewString()} {
		var d helpdesk.Ticket
		e.do("POST", "/helpdesk/internal/mail-tickets", e.service, map[string]string{
			"id": uuid.NewString(), "requester_id": jo.id, "title": "Default", "category_id": cat,
		}).ok(t, http.StatusCreated, &d)
		if d.CategoryID != first.ID {
			t.Errorf("category %q: filed in %s, want the oldest %s", cat, d.CategoryID, first.ID)
		}
	}
}

func TestMailTicket_RefusesBadInputAndPeople(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.category("Hardware")
	jo := e.user("Jo", authn.RoleEmployee)
	before := e.rows()
	for name, body := range map[string]map[string]string{
		"bad id":           {"id": "x", "requester_id": jo.id, "title": "t"},
		"bad requester":    {"id": uuid.NewString(), "requester_id": "x", "title": "t"},
		"no title":         {"id": uuid.NewString(), "requester_id": jo.id, "title": " "},
		"control in title": {"id": uuid.NewString(), "requester_id": jo.id, "title": "a\x00b"},
		"bad category":     {"id": uuid.NewString(), "requester_id": jo.id, "title": "t", "category_id": "nope"},
	} {
		if p := e.do("POST", "/helpdesk/internal/mail-tickets", e.service, body).problem(t, http.StatusUnprocessableEntity); p.Code != "unprocessable" {
			t.Errorf("%s: %+v", name, p)
		}
	}
	// People may not call it, not even admins.
	admin := e.user("Ada", authn.RoleAdmin)
	e.do("POST", "/helpdesk/internal/mail-tickets", admin.token, map[string]string{"id": uuid.NewString(), "requester_id": jo.id, "title": "t"}).problem(t, http.StatusForbidden)
	e.unchanged(before)
}

func TestMailTicket_NoActiveCategoryIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	jo := e.user("Jo", authn.RoleEmployee)
	e.do("POST", "/helpdesk/internal/mail-tickets", e.service, map[string]string{
		"id": uuid.NewString(), "requester_id": jo.id, "title": "t",
	}).problem(t, http.StatusUnprocessableEntity)
}
