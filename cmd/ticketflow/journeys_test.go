package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	amqp "github.com/rabbitmq/amqp091-go"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

// Journeys through the real HTTP routes of `ticketflow dev`, each crossing
// several services and the bus.

// TestJourney_CommentsOverHTTPDriveTheWorkflow: comments posted to
// messaging reach the ticket's workflow (comment.created → signal). An
// agent's internal note does not count as the first response, the agent's
// public reply does, and the requester's reply brings a ticket waiting on
// them back to work.
func TestJourney_CommentsOverHTTPDriveTheWorkflow(t *testing.T) {
	base, amqpURL := startDev(t)
	d := setUpDesk(t, base, amqpURL)
	emp := register(t, base, "ana@example.com")
	id := d.open(t, emp, "Mail bounces")
	d.waitForAssignee(t, emp, id)
	tc := dialTemporal(t)

	type view struct {
		Step string `json:"step"`
		SLA  struct {
			FirstResponse struct {
				Met bool `json:"met"`
			} `json:"first_response"`
		} `json:"sla"`
	}
	state := func() view {
		var v view
		d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &v)
		return v
	}
	if state().SLA.FirstResponse.Met {
		t.Fatal("first response met before anyone answered")
	}

	note := postComment(t, d.agent, id, "Checked the mail logs: the relay rejects it.", true)
	// The note's signal is in the run's history and a workflow task has
	// handled it: a query now sees whatever it did.
	waitForCommentHandled(t, tc, id, note)
	if v := state(); v.SLA.FirstResponse.Met {
		t.Fatalf("an internal note met the first response: %+v", v)
	}

	postComment(t, d.agent, id, "We are looking into it.", false)
	eventually(t, 30*time.Second, "the agent's public reply meeting the first response", func() bool {
		return state().SLA.FirstResponse.Met
	})

	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": workflows.StepInProgress}, 200, nil)
	d.agent.call("POST", "/workflow/tickets/"+id+"/transitions", map[string]string{"to": workflows.StepWaiting}, 200, nil)
	postComment(t, emp, id, "It bounces with 550.", false)
	eventually(t, 30*time.Second, "the requester's reply moving the ticket back to work", func() bool {
		return state().Step == workflows.StepInProgress
	})
	eventually(t, 30*time.Second, "the helpdesk showing the ticket back in progress", func() bool {
		var tk ticketView
		emp.call("GET", "/helpdesk/tickets/"+id, nil, 200, &tk)
		return tk.Step == workflows.StepInProgress && tk.Status == workflows.StatusOpen
	})
}

// TestJourney_AssignmentNotificationReachesTheAgentsSocketOnce: once a
// ticket is assigned, the assignee's WebSocket (opened with a one-time ws
// ticket, as the web app does) gets exactly one notification frame, the
// stored notification; the same ticket.assigned event delivered again
// makes neither a second frame nor a second row.
func TestJourney_AssignmentNotificationReachesTheAgentsSocketOnce(t *testing.T) {
	base, amqpURL := startDev(t)
	d := setUpDesk(t, base, amqpURL)
	emp := register(t, base, "ana@example.com")
	assigned := testenv.Observe(t, amqpURL, "ticketflow.events", events.TicketAssigned)
	frames := openSocket(t, d.agent)

	id := d.open(t, emp, "Badge reader dead")
	d.waitForAssignee(t, emp, id)
	first := nextNotification(t, frames)
	if first.Kind != string(notification.KindAssigned) || first.TicketID != id || first.ID == "" {
		t.Fatalf("first notification frame = %+v, want ticket.assigned of %s", first, id)
	}
	stored := notificationsOf(t, d.agent)
	if len(stored) != 1 || stored[0].ID != first.ID || stored[0].Kind != first.Kind {
		t.Fatalf("stored notifications = %+v, want only the one the socket got (%s)", stored, first.ID)
	}

	// The broker delivers the same event again: the identical message,
	// same CloudEvent id. The consumer settles it (its queue empties)...
	event := awaitDelivery(t, assigned, id)
	republish(t, amqpURL, event)
	waitForQueueEmpty(t, amqpURL, notification.EventsQueue)
	// ...and the next notification of the agent, caused only now, is the
	// next frame: a duplicate, published before it, would come first.
	postComment(t, emp, id, "It beeps twice, then nothing.", false)
	next := nextNotification(t, frames)
	if next.Kind != string(notification.KindComment) || next.TicketID != id {
		t.Fatalf("frame after the redelivery = %+v, want the requester's comment (a second ticket.assigned frame means the redelivery notified again)", next)
	}
	stored = notificationsOf(t, d.agent)
	kinds := map[string]int{}
	for _, n := range stored {
		kinds[n.Kind]++
	}
	if len(stored) != 2 || kinds[string(notification.KindAssigned)] != 1 || kinds[string(notification.KindComment)] != 1 {
		t.Fatalf("stored notifications after the redelivery = %+v, want one ticket.assigned and one comment.created", stored)
	}
}

// postComment posts a comment as c and returns its ID.
func postComment(t *testing.T, c *user, ticketID, body string, internal bool) string {
	t.Helper()
	var cm struct {
		ID string `json:"id"`
	}
	c.call("POST", "/messaging/tickets/"+ticketID+"/comments", map[string]any{"body": body, "internal": internal}, 201, &cm)
	if cm.ID == "" {
		t.Fatal("the comment came back without an id")
	}
	return cm.ID
}

// waitForCommentHandled waits until the run of ticketID has the comment
// signal of commentID in its history, followed by a completed workflow
// task: the run has handled it.
func waitForCommentHandled(t *testing.T, tc client.Client, ticketID, commentID string) {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	eventually(t, 30*time.Second, "the comment "+commentID+" handled by the run", func() bool {
		signalled := false
		iter := tc.GetWorkflowHistory(context.Background(), workflows.TicketWorkflowID(ticketID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalComment {
				var sig workflows.CommentSignal
				if err := dc.FromPayloads(a.GetInput(), &sig); err != nil {
					t.Fatal(err)
				}
				signalled = signalled || sig.CommentID == commentID
			}
			if signalled && e.GetWorkflowTaskCompletedEventAttributes() != nil {
				return true
			}
		}
		return false
	})
}

// wsFrame is a frame the server sends.
type wsFrame struct {
	Type     string          `json:"type"`
	TicketID string          `json:"ticket_id"`
	Data     json.RawMessage `json:"data"`
}

// openSocket opens c's WebSocket the way the web app does (a one-time
// ticket from POST /messaging/ws-tickets, then GET /messaging/ws?ticket=),
// waits until the server serves it, and returns its frames.
func openSocket(t *testing.T, c *user) <-chan wsFrame {
	t.Helper()
	var wt struct {
		Ticket string `json:"ticket"`
	}
	c.call("POST", "/messaging/ws-tickets", nil, 200, &wt)
	u := "ws" + strings.TrimPrefix(c.base, "http") + "/messaging/ws?ticket=" + url.QueryEscape(wt.Ticket)
	ws, res, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("open the WebSocket: %v (HTTP %d)", err, status)
	}
	t.Cleanup(func() { _ = ws.Close() })
	frames := make(chan wsFrame, 64)
	go func() {
		defer close(frames)
		for {
			var f wsFrame
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			frames <- f
		}
	}()
	// The server answers a frame it does not know with an error frame:
	// once that arrives, the socket is in the hub and gets its user's
	// notifications.
	if err := ws.WriteJSON(map[string]string{"type": "hello"}); err != nil {
		t.Fatal(err)
	}
	if f := nextFrame(t, frames); f.Type != "error" {
		t.Fatalf("first frame = %+v, want the error frame answering an unknown type", f)
	}
	return frames
}

// nextFrame returns the socket's next frame, failing after 30 s.
func nextFrame(t *testing.T, frames <-chan wsFrame) wsFrame {
	t.Helper()
	select {
	case f, ok := <-frames:
		if !ok {
			t.Fatal("the WebSocket closed")
		}
		return f
	case <-time.After(30 * time.Second):
		t.Fatal("no WebSocket frame within 30s")
	}
	return wsFrame{}
}

// liveNotification is what GET /notifications and notification frames say
// of a notification.
type liveNotification struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	TicketID string `json:"ticket_id"`
}

// nextNotification returns the next frame, which must be a notification.
func nextNotification(t *testing.T, frames <-chan wsFrame) liveNotification {
	t.Helper()
	f := nextFrame(t, frames)
	if f.Type != "notification" {
		t.Fatalf("frame = %s %s %s, want a notification", f.Type, f.TicketID, f.Data)
	}
	var n liveNotification
	if err := json.Unmarshal(f.Data, &n); err != nil {
		t.Fatalf("notification frame data %s: %v", f.Data, err)
	}
	return n
}

// notificationsOf lists c's stored notifications.
func notificationsOf(t *testing.T, c *user) []liveNotification {
	t.Helper()
	var page struct {
		Items []liveNotification `json:"items"`
	}
	c.call("GET", "/notifications?limit=100", nil, 200, &page)
	return page.Items
}

// awaitDelivery returns the first delivery whose event is about subject.
func awaitDelivery(t *testing.T, deliveries <-chan amqp.Delivery, subject string) amqp.Delivery {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m := <-deliveries:
			if e, err := events.Parse(m.Body); err == nil && e.Subject == subject {
				return m
			}
		case <-deadline:
			t.Fatalf("no event about %s on the bus within 30s", subject)
		}
	}
}

// republish publishes m again, byte for byte with its properties, to the
// events exchange under its routing key, and waits for the broker's
// confirm.
func republish(t *testing.T, amqpURL string, m amqp.Delivery) {
	t.Helper()
	ch, closeCh := testenv.Channel(t, amqpURL)
	defer closeCh()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, m.Exchange, m.RoutingKey, true, false, amqp.Publishing{
		Headers: m.Headers, ContentType: m.ContentType, ContentEncoding: m.ContentEncoding,
		DeliveryMode: amqp.Persistent, MessageId: m.MessageId, Timestamp: m.Timestamp, Type: m.Type,
		AppId: m.AppId, Body: m.Body,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(ctx); err != nil || !ok {
		t.Fatalf("republish: confirmed %v, %v", ok, err)
	}
}
