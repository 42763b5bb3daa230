package messaging_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func TestComments_RequesterSeesPublicRepliesOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)

	question := e.comment(ana, tk.ID, "It beeps **three** times.", false)
	note := e.comment(bob, tk.ID, "Probably the RAM.", true)
	answer := e.comment(bob, tk.ID, "Please reseat the memory.", false)
	if question.AuthorName != "Ana" || question.AuthorRole != authn.RoleEmployee || question.Body != "It beeps **three** times." ||
		question.Internal || question.Deleted || question.EditedAt != nil || !note.Internal {
		t.Fatalf("created = %+v, %+v", question, note)
	}

	list := func(p person, query string) httpx.List[messaging.Comment] {
		var l httpx.List[messaging.Comment]
		e.do("GET", "/messaging/tickets/"+tk.ID+"/comments"+query, p.token, nil).ok(t, http.StatusOK, &l)
		return l
	}
	if got := ids(list(ana, "").Items); !slices.Equal(got, []string{question.ID, answer.ID}) {
		t.Fatalf("requester sees %v, want the two public comments", got)
	}
	if got := ids(list(bob, "").Items); !slices.Equal(got, []string{question.ID, note.ID, answer.ID}) {
		t.Fatalf("agent sees %v, want all three", got)
	}

	first := list(bob, "?limit=2")
	if len(first.Items) != 2 || first.NextCursor == "" {
		t.Fatalf("first page = %+v", first)
	}
	if rest := list(bob, "?limit=2&cursor="+first.NextCursor); len(rest.Items) != 1 || rest.Items[0].ID != answer.ID || rest.NextCursor != "" {
		t.Fatalf("second page = %+v", rest)
	}
	e.do("GET", "/messaging/tickets/"+tk.ID+"/comments?cursor=forged", bob.token, nil).problem(t, http.StatusBadRequest)
}

func ids(cs []messaging.Comment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestComments_BadInputStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, eve, bob := e.user("Ana", authn.RoleEmployee), e.user("Eve", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	path := "/messaging/tickets/" + tk.ID + "/comments"

	for _, c := range []struct {
		name   string
		who    person
		path   string
		body   any
		status int
	}{
		{"unknown ticket", ana, "/messaging/tickets/" + uuid.NewString() + "/comments", map[string]any{"body": "hi"}, http.StatusNotFound},
		{"malformed ticket ID", ana, "/messaging/tickets/not-a-uuid/comments", map[string]any{"body": "hi"}, http.StatusNotFound},
		{"someone else's ticket", eve, path, map[string]any{"body": "hi"}, http.StatusNotFound},
		{"empty body", ana, path, map[string]any{"body": ""}, http.StatusUnprocessableEntity},
		{"blank body", ana, path, map[string]any{"body": " \n\t "}, http.StatusUnprocessableEntity},
		{"body over 64 KiB", ana, path, map[string]any{"body": strings.Repeat("a", messaging.MaxCommentBytes+1)}, http.StatusUnprocessableEntity},
		{"1 MiB body", ana, path, map[string]any{"body": strings.Repeat("a", 1<<20)}, http.StatusRequestEntityTooLarge},
		{"internal note by an employee", ana, path, map[string]any{"body": "hi", "internal": true}, http.StatusForbidden},
		{"unknown field", ana, path, map[string]any{"body": "hi", "author_id": bob.id}, http.StatusBadRequest},
		{"not JSON", ana, path, "body=hi", http.StatusBadRequest},
		{"no token", person{}, path, map[string]any{"body": "hi"}, http.StatusUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.rows()
			e.do("POST", c.path, c.who.token, c.body).problem(t, c.status)
			e.unchanged(before)
		})
	}
	// Nor may anyone read the conversation of a ticket they cannot see.
	e.do("GET", path, eve.token, nil).problem(t, http.StatusNotFound)
}

func TestComments_HelpdeskDownIsUnavailableNotNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)
	e.helpdesk.Close()

	before := e.rows()
	p := e.do("POST", "/messaging/tickets/"+tk.ID+"/comments", ana.token, map[string]any{"body": "hello?"}).
		problem(t, http.StatusServiceUnavailable)
	if p.Code != "unavailable" {
		t.Fatalf("problem = %+v", p)
	}
	e.unchanged(before)
}

func TestComments_AccessAnswerIsCachedInRedis(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)
	e.comment(ana, tk.ID, "first", false)
	if n := e.rdb.HLen(context.Background(), e.prefix+"messaging:access:"+tk.ID).Val(); n != 1 {
		t.Fatalf("cached answers = %d, want 1", n)
	}
	// The helpdesk's yes is reused while it lasts, even with the helpdesk gone.
	e.helpdesk.Close()
	e.comment(ana, tk.ID, "second", false)
	// A no is never cached: someone else still gets 503, not a stale answer.
	eve := e.user("Eve", authn.RoleEmployee)
	e.do("GET", "/messaging/tickets/"+tk.ID+"/comments", eve.token, nil).problem(t, http.StatusServiceUnavailable)
}

func TestComments_CommentCreatedWrittenWithTheComment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	e.assign(tk.ID, bob.id)

	c := e.comment(bob, tk.ID, "Internal: ordered a new disk.", true)
	evs := e.outboxEvents(events.CommentCreated)
	if len(evs) != 1 {
		t.Fatalf("comment.created events = %d, want 1", len(evs))
	}
	ev := evs[0]
	if ev.Source != messaging.EventSource || ev.Subject != tk.ID {
		t.Fatalf("event = %+v", ev)
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"assignee_id", "author_id", "author_role", "body", "comment_id", "created_at", "internal", "requester_id", "ticket_id"}
	if !slices.Equal(keys, want) {
		t.Fatalf("data keys = %v, want %v", keys, want)
	}
	var got messaging.CommentCreated
	if err := ev.DecodeData(&got); err != nil {
		t.Fatal(err)
	}
	if got.CommentID != c.ID || got.TicketID != tk.ID || got.AuthorID != bob.id || got.AuthorRole != authn.RoleAgent ||
		!got.Internal || got.Body != c.Body || !got.CreatedAt.Equal(c.CreatedAt) || got.RequesterID != ana.id ||
		got.AssigneeID == nil || *got.AssigneeID != bob.id {
		t.Fatalf("comment.created data = %+v", got)
	}
}

func TestComments_AuthorEditsAndDeletesWithinTheWindowKeepingHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	c := e.comment(ana, tk.ID, "It beeps twice.", false)

	e.do("PATCH", "/messaging/comments/"+c.ID, bob.token, map[string]string{"body": "hijacked"}).problem(t, http.StatusForbidden)
	e.do("PATCH", "/messaging/comments/"+c.ID, ana.token, map[string]string{"body": ""}).problem(t, http.StatusUnprocessableEntity)
	var edited messaging.Comment
	e.do("PATCH", "/messaging/comments/"+c.ID, ana.token, map[string]string{"body": "It beeps three times."}).ok(t, http.StatusOK, &edited)
	if edited.Body != "It beeps three times." || edited.EditedAt == nil || edited.Deleted {
		t.Fatalf("edited = %+v", edited)
	}

	e.do("DELETE", "/messaging/comments/"+c.ID, bob.token, nil).problem(t, http.StatusForbidden)
	if r := e.do("DELETE", "/messaging/comments/"+c.ID, ana.token, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	var l httpx.List[messaging.Comment]
	e.do("GET", "/messaging/tickets/"+tk.ID+"/comments", ana.token, nil).ok(t, http.StatusOK, &l)
	if len(l.Items) != 1 || !l.Items[0].Deleted || l.Items[0].Body != "" {
		t.Fatalf("after delete = %+v", l.Items)
	}
	e.do("PATCH", "/messaging/comments/"+c.ID, ana.token, map[string]string{"body": "back"}).problem(t, http.StatusConflict)

	var history []string
	rs, err := e.pool.Query(context.Background(), `SELECT kind || ':' || body FROM comment_revisions WHERE comment_id = $1 ORDER BY id`, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		history = append(history, s)
	}
	if !slices.Equal(history, []string{"edit:It beeps twice.", "delete:It beeps three times."}) {
		t.Fatalf("history = %v", history)
	}
	// An edit is not a new comment: one comment.created only.
	if n := len(e.outboxEvents(events.CommentCreated)); n != 1 {
		t.Fatalf("comment.created events = %d", n)
	}
}

func TestComments_EditWindowCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)
	c := e.comment(ana, tk.ID, "typo", false)
	if _, err := e.pool.Exec(context.Background(), `UPDATE comments SET created_at = now() - interval '16 minutes' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	before := e.rows()
	e.do("PATCH", "/messaging/comments/"+c.ID, ana.token, map[string]string{"body": "fixed"}).problem(t, http.StatusConflict)
	e.do("DELETE", "/messaging/comments/"+c.ID, ana.token, nil).problem(t, http.StatusConflict)
	e.unchanged(before)
}

func TestComments_InternalNoteHiddenFromRequesterEvenById(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	note := e.comment(bob, tk.ID, "secret", true)
	e.do("PATCH", "/messaging/comments/"+note.ID, ana.token, map[string]string{"body": "x"}).problem(t, http.StatusNotFound)
	e.do("DELETE", "/messaging/comments/"+note.ID, ana.token, nil).problem(t, http.StatusNotFound)
	e.do("DELETE", "/messaging/comments/"+uuid.NewString(), ana.token, nil).problem(t, http.StatusNotFound)
}
