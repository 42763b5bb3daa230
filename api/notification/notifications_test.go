package notification_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/authn/authntest"
)

// list is the answer of GET /notifications.
type list struct {
	Items       []notification.Notification `json:"items"`
	NextCursor  string                      `json:"next_cursor"`
	UnreadCount int                         `json:"unread_count"`
}

// notify gives p n assignments, oldest first, and returns their tickets' IDs.
func (e *env) notify(p person, n int) []string {
	e.t.Helper()
	requester := e.person("Rita Requester", authn.RoleEmployee)
	var ids []string
	for i := range n {
		tk := ticket(fmt.Sprintf("Ticket %d", i), requester, &p)
		e.handle(assigned(e.t, tk, p, ""))
		ids = append(ids, tk.ID)
	}
	return ids
}

func TestListNotifications_NewestFirstInPagesWithUnreadCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	agent := e.person("Alex Agent", authn.RoleAgent)
	other := e.person("Olga Other", authn.RoleAgent)
	tickets := e.notify(agent, 5)
	e.notify(other, 1)

	var page1, page2, page3 list
	e.do("GET", "/notifications?limit=2", agent.token, nil).ok(t, http.StatusOK, &page1)
	if len(page1.Items) != 2 || page1.NextCursor == "" || page1.UnreadCount != 5 {
		t.Fatalf("first page = %+v", page1)
	}
	e.do("GET", "/notifications?limit=2&cursor="+page1.NextCursor, agent.token, nil).ok(t, http.StatusOK, &page2)
	e.do("GET", "/notifications?limit=2&cursor="+page2.NextCursor, agent.token, nil).ok(t, http.StatusOK, &page3)
	if len(page3.Items) != 1 || page3.NextCursor != "" {
		t.Fatalf("last page = %+v", page3)
	}
	var got []string
	for _, p := range []list{page1, page2, page3} {
		for _, n := range p.Items {
			got = append(got, n.TicketID)
		}
	}
	for i, id := range got {
		if want := tickets[len(tickets)-1-i]; id != want {
			t.Fatalf("ticket %d of the list = %s, want %s (newest first)", i, id, want)
		}
	}
	n := page1.Items[0]
	if n.Kind != notification.KindAssigned || n.Title != "Assigned to you: Ticket 4" || n.Link != "/tickets/"+tickets[4] || n.ReadAt != nil {
		t.Fatalf("notification = %+v", n)
	}
}

func TestMarkRead_OwnNotificationOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	agent := e.person("Alex Agent", authn.RoleAgent)
	other := e.person("Olga Other", authn.RoleAgent)
	e.notify(agent, 3)
	e.notify(other, 1)
	var all, others list
	e.do("GET", "/notifications", agent.token, nil).ok(t, http.StatusOK, &all)
	e.do("GET", "/notifications", other.token, nil).ok(t, http.StatusOK, &others)

	var read notification.Notification
	e.do("POST", "/notifications/"+all.Items[1].ID+"/read", agent.token, nil).ok(t, http.StatusOK, &read)
	if read.ID != all.Items[1].ID || read.ReadAt == nil {
		t.Fatalf("read = %+v", read)
	}
	// Again: still read, at the first time.
	var again notification.Notification
	e.do("POST", "/notifications/"+read.ID+"/read", agent.token, nil).ok(t, http.StatusOK, &again)
	if !again.ReadAt.Equal(*read.ReadAt) {
		t.Fatalf("read again at %v, first at %v", again.ReadAt, read.ReadAt)
	}

	var unread list
	e.do("GET", "/notifications?unread=true", agent.token, nil).ok(t, http.StatusOK, &unread)
	if len(unread.Items) != 2 || unread.UnreadCount != 2 {
		t.Fatalf("unread = %+v, want the other two", unread)
	}
	for _, n := range unread.Items {
		if n.ID == read.ID {
			t.Fatal("a read notification is listed as unread")
		}
	}

	// Another's, an unknown and a malformed ID are all simply not found.
	for _, id := range []string{others.Items[0].ID, uuid.NewString(), "not-an-id"} {
		e.do("POST", "/notifications/"+id+"/read", agent.token, nil).problem(t, http.StatusNotFound)
	}
	var stillUnread list
	e.do("GET", "/notifications", other.token, nil).ok(t, http.StatusOK, &stillUnread)
	if stillUnread.UnreadCount != 1 {
		t.Fatalf("the other user's unread count = %d, want 1", stillUnread.UnreadCount)
	}
}

func TestMarkAllRead_OnlyTheCallers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	agent := e.person("Alex Agent", authn.RoleAgent)
	other := e.person("Olga Other", authn.RoleAgent)
	e.notify(agent, 3)
	e.notify(other, 2)

	res := e.do("POST", "/notifications/read-all", agent.token, nil)
	if res.status != http.StatusNoContent {
		t.Fatalf("read-all: %d %s", res.status, res.body)
	}
	var mine, theirs list
	e.do("GET", "/notifications", agent.token, nil).ok(t, http.StatusOK, &mine)
	e.do("GET", "/notifications", other.token, nil).ok(t, http.StatusOK, &theirs)
	if mine.UnreadCount != 0 || len(mine.Items) != 3 || mine.Items[0].ReadAt == nil {
		t.Fatalf("after read-all: %+v", mine)
	}
	if theirs.UnreadCount != 2 {
		t.Fatalf("the other user's unread count = %d, want 2", theirs.UnreadCount)
	}
	e.do("GET", "/notifications?unread=true", agent.token, nil).ok(t, http.StatusOK, &mine)
	if len(mine.Items) != 0 {
		t.Fatalf("unread after read-all = %+v", mine.Items)
	}
}

func TestNotificationRoutes_NeedAPerson(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	service := e.keys.Token(t, "workflow-engine", authn.RoleService)
	routes := []struct{ method, path string }{
		{"GET", "/notifications"},
		{"POST", "/notifications/" + uuid.NewString() + "/read"},
		{"POST", "/notifications/read-all"},
		{"GET", "/notifications/preferences"},
		{"PUT", "/notifications/preferences"},
	}
	for _, r := range routes {
		e.do(r.method, r.path, "", nil).problem(t, http.StatusUnauthorized)
		e.do(r.method, r.path, "not-a-token", nil).problem(t, http.StatusUnauthorized)
		e.do(r.method, r.path, service, nil).problem(t, http.StatusForbidden)
	}
	// A token from another key is no better than none.
	foreign := authntest.NewSigner(t).Token(t, uuid.NewString(), authn.RoleAgent)
	e.do("GET", "/notifications", foreign, nil).problem(t, http.StatusUnauthorized)
}

func TestListNotifications_RejectsBadQueries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeSendGrid(t).mailer())
	agent := e.person("Alex Agent", authn.RoleAgent)
	for _, q := range []string{"limit=0", "limit=101", "limit=ten", "unread=maybe", "cursor=forged.cursor"} {
		e.do("GET", "/notifications?"+q, agent.token, nil).problem(t, http.StatusBadRequest)
	}
	var empty list
	e.do("GET", "/notifications", agent.token, nil).ok(t, http.StatusOK, &empty)
	if empty.Items == nil || len(empty.Items) != 0 || empty.UnreadCount != 0 {
		t.Fatalf("empty list = %+v (items must be [], not null)", empty)
	}
}
