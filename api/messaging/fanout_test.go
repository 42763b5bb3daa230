package messaging_test

import (
	"testing"

	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/authn"
)

func TestFanOut_CommentPostedToOneReplicaReachesSocketsOnEvery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	second := e.addReplica()
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	anaWS := e.connectTo(e.url(), ana)
	bobWS := e.connectTo(second.srv.URL, bob)
	anaWS.subscribe(tk.ID)
	// Presence spans the replicas too.
	if p := bobWS.subscribe(tk.ID); len(p.Viewers) != 2 {
		t.Fatalf("presence on the second replica = %+v", p)
	}

	posted := e.comment(ana, tk.ID, "Posted to the first replica", false)
	for _, c := range []*client{anaWS, bobWS} {
		var got messaging.Comment
		decode(t, c.next(messaging.FrameCommentCreated, tk.ID), &got)
		if got.ID != posted.ID {
			t.Fatalf("got %+v, want %s", got, posted.ID)
		}
	}

	// From the second replica, an internal note reaches the agent only.
	var note, answer messaging.Comment
	e.call(second.srv.URL, "POST", "/messaging/tickets/"+tk.ID+"/comments", bob.token,
		map[string]any{"body": "note", "internal": true}).ok(t, 201, &note)
	e.call(second.srv.URL, "POST", "/messaging/tickets/"+tk.ID+"/comments", bob.token,
		map[string]any{"body": "answer"}).ok(t, 201, &answer)
	var got messaging.Comment
	decode(t, bobWS.next(messaging.FrameCommentCreated, tk.ID), &got)
	if got.ID != note.ID {
		t.Fatalf("agent got %+v, want the note", got)
	}
	decode(t, anaWS.next(messaging.FrameCommentCreated, tk.ID), &got)
	if got.ID != answer.ID {
		t.Fatalf("requester got %+v, want the answer", got)
	}
}
