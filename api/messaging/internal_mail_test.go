package messaging_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

func TestMailComment_AddedOnceForItsAuthor(t *testing.T) {
	e := newEnv(t)
	jo := e.user("Jo", authn.RoleEmployee)
	tk := e.ticket(jo)
	service := e.keys.Token(t, "mail-in", authn.RoleService)
	id := uuid.NewString()
	body := map[string]any{"id": id, "author_id": jo.id, "author_role": "employee", "body": "Still broken."}

	var c messaging.Comment
	e.do("POST", "/messaging/internal/tickets/"+tk.ID+"/comments", service, body).ok(t, http.StatusCreated, &c)
	if c.ID != id || c.AuthorID != jo.id || c.Internal || c.Body != "Still broken." {
		t.Fatalf("comment %+v", c)
	}
	e.do("POST", "/messaging/internal/tickets/"+tk.ID+"/comments", service, body).ok(t, http.StatusOK, &c)
	if n := len(e.outboxEvents(events.CommentCreated)); n != 1 {
		t.Fatalf("%d comment.created events, want 1 (the workflow hears of the reply once)", n)
	}

	// Another employee may not comment on Jo's ticket by mail either.
	bob := e.user("Bob", authn.RoleEmployee)
	e.do("POST", "/messaging/internal/tickets/"+tk.ID+"/comments", service, map[string]any{
		"id": uuid.NewString(), "author_id": bob.id, "author_role": "employee", "body": "me too",
	}).problem(t, http.StatusNotFound)
	// Bad input, and people calling the service route.
	e.do("POST", "/messaging/internal/tickets/"+tk.ID+"/comments", service, map[string]any{
		"id": "x", "author_id": jo.id, "author_role": "employee", "body": "b"}).problem(t, http.StatusUnprocessableEntity)
	e.do("POST", "/messaging/internal/tickets/"+tk.ID+"/comments", service, map[string]any{
		"id": uuid.NewString(), "author_id": jo.id, "author_role": "service", "body": "b"}).problem(t, http.StatusUnprocessableEntity)
	e.do("POST", "/messaging/internal/tickets/"+tk.ID+"/comments", service, map[string]any{
		"id": uuid.NewString(), "author_id": jo.id, "author_role": "employee", "body": " "}).problem(t, http.StatusUnprocessableEntity)
	e.do("POST", "/messaging/internal/tickets/"+tk.ID+"/comments", jo.token, body).problem(t, http.StatusForbidden)
	if n := len(e.outboxEvents(events.CommentCreated)); n != 1 {
		t.Fatalf("refused requests wrote comments: %d events", n)
	}
}

func TestMailAttachment_StoredOnceUnderItsBaseName(t *testing.T) {
	e := newEnv(t)
	jo := e.user("Jo", authn.RoleEmployee)
	tk := e.ticket(jo)
	service := e.keys.Token(t, "mail-in", authn.RoleService)
	id := uuid.NewString()
	post := func(token, name string, content []byte, q url.Values) response {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(content)
		_ = mw.Close()
		req, _ := http.NewRequest("POST", e.url()+"/messaging/internal/tickets/"+tk.ID+"/attachments?"+q.Encode(), &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return e.send(req, token)
	}
	q := url.Values{"id": {id}, "uploader_id": {jo.id}, "uploader_role": {"employee"}}
	var a messaging.Attachment
	post(service, "../../etc/passwd", []byte("root:x:0:0\n"), q).ok(t, http.StatusCreated, &a)
	if a.ID != id || a.FileName != "passwd" || a.UploaderID != jo.id || a.TicketID != tk.ID {
		t.Fatalf("attachment %+v", a)
	}
	post(service, "passwd", []byte("root:x:0:0\n"), q).ok(t, http.StatusOK, &a)
	post(service, "x.exe", []byte("MZ\x90\x00\x03"), url.Values{"id": {uuid.NewString()}, "uploader_id": {jo.id}, "uploader_role": {"employee"}}).
		problem(t, http.StatusUnsupportedMediaType)
	bob := e.user("Bob", authn.RoleEmployee)
	post(service, "a.txt", []byte("hi"), url.Values{"id": {uuid.NewString()}, "uploader_id": {bob.id}, "uploader_role": {"employee"}}).
		problem(t, http.StatusNotFound)
	post(service, "a.txt", []byte("hi"), url.Values{"id": {"nope"}, "uploader_id": {jo.id}, "uploader_role": {"employee"}}).
		problem(t, http.StatusUnprocessableEntity)
	post(jo.token, "a.txt", []byte("hi"), q).problem(t, http.StatusForbidden)
	var list struct {
		Items []messaging.Attachment `json:"items"`
	}
	e.do("GET", "/messaging/tickets/"+tk.ID+"/attachments", jo.token, nil).ok(t, http.StatusOK, &list)
	if len(list.Items) != 1 {
		t.Fatalf("attachments %+v", list.Items)
	}
}
