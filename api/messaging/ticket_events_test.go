package messaging_test

import (
	"context"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

// TestRabbitMQ runs the tests that need RabbitMQ in one virtual host,
// since making one takes seconds; each gets an events exchange of its own.
func TestRabbitMQ(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	for name, test := range map[string]func(*testing.T, broker){
		"CommentCreated_PublishedByTheRelay":       testCommentCreatedPublished,
		"TicketChanges_ReachSubscribersAsFrames":   testTicketChangesBecomeFrames,
		"UserDirectory_NamesAuthorsFromUserEvents": testUserDirectoryFromEvents,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, broker{url: amqpURL, exchange: testenv.Name("events")})
		})
	}
}

// broker is a test's share of RabbitMQ: a vhost's URL and an exchange.
type broker struct {
	url      string
	exchange string
}

// publisher returns a publisher to the broker's exchange, closed at cleanup.
func (b broker) publisher(t *testing.T) *rabbitmq.Publisher {
	pub := rabbitmq.NewPublisher(b.url, b.exchange, testenv.Logger(t))
	t.Cleanup(func() { _ = pub.Close() })
	return pub
}

func relayOptions() outbox.RelayOptions {
	return outbox.RelayOptions{PollInterval: 100 * time.Millisecond, MinBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
}

func testCommentCreatedPublished(t *testing.T, b broker) {
	e := newEnv(t)
	published := testenv.Observe(t, b.url, b.exchange, events.CommentCreated)
	testenv.RunLoop(t, outbox.NewRelay(e.pool, b.publisher(t), testenv.Logger(t), relayOptions()).Run)

	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)
	c := e.comment(ana, tk.ID, "Is anyone there?", false)
	select {
	case m := <-published:
		ev, err := events.Parse(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		var data messaging.CommentCreated
		if err := ev.DecodeData(&data); err != nil {
			t.Fatal(err)
		}
		if m.RoutingKey != events.CommentCreated || ev.Subject != tk.ID || data.CommentID != c.ID ||
			data.AuthorRole != authn.RoleEmployee || data.Internal || data.RequesterID != ana.id || data.AssigneeID != nil {
			t.Fatalf("published %s: %+v", m.RoutingKey, data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("comment.created was not published")
	}
}

func testTicketChangesBecomeFrames(t *testing.T, b broker) {
	e := newEnv(t)
	// The real helpdesk publishes ticket.updated through its relay;
	// messaging consumes the ticket events from the same exchange.
	testenv.RunLoop(t, outbox.NewRelay(e.hdPool, b.publisher(t), testenv.Logger(t), relayOptions()).Run)
	queue := testenv.Name("messaging.ticket-events")
	consumer := rabbitmq.NewConsumer(b.url, rabbitmq.ConsumerConfig{
		Exchange: b.exchange, Queue: queue, Bindings: messaging.TicketEventTypes(),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	}, e.replicas[0].svc.TicketEventsHandler(), testenv.Logger(t))
	testenv.RunLoop(t, consumer.Run)
	testenv.WaitForConsumer(t, b.url, queue)

	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	anaWS := e.connect(ana)
	anaWS.subscribe(tk.ID)
	e.comment(ana, tk.ID, "cache my access", false)

	e.assign(tk.ID, bob.id)
	var updated helpdesk.TicketUpdated
	decode(t, anaWS.next(messaging.FrameTicketUpdated, tk.ID), &updated)
	if updated.Ticket.ID != tk.ID || updated.Ticket.AssigneeID == nil || *updated.Ticket.AssigneeID != bob.id || len(updated.Changes) == 0 {
		t.Fatalf("ticket.updated frame = %+v", updated)
	}
	// The cached access answer named no assignee: it is gone.
	if n := e.rdb.Exists(context.Background(), e.prefix+"messaging:access:"+tk.ID).Val(); n != 0 {
		t.Fatal("the access cache survived a ticket change")
	}

	// The workflow's events carry ticket_id.
	ev, err := events.New("/workflow", events.TicketStatusChanged, tk.ID, workflows.StatusChangedEvent{
		TicketID: tk.ID, RequesterID: ana.id, From: "triage", To: "in_progress", Status: "open",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.publisher(t).Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	var changed workflows.StatusChangedEvent
	decode(t, anaWS.next(messaging.FrameTicketUpdated, tk.ID), &changed)
	if changed.TicketID != tk.ID || changed.To != "in_progress" {
		t.Fatalf("status frame = %+v", changed)
	}
}

func testUserDirectoryFromEvents(t *testing.T, b broker) {
	e := newEnv(t)
	queue := testenv.Name("messaging.users")
	consumer := rabbitmq.NewConsumer(b.url, rabbitmq.ConsumerConfig{
		Exchange: b.exchange, Queue: queue, Bindings: messaging.UserEventTypes(),
	}, e.replicas[0].svc.UserDirectoryHandler(), testenv.Logger(t))
	testenv.RunLoop(t, consumer.Run)
	testenv.WaitForConsumer(t, b.url, queue)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)

	ev, err := events.New("/auth", events.UserUpdated, ana.id, map[string]any{
		"id": ana.id, "email": "ana@example.com", "name": "Ana Lima", "role": "employee", "active": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.publisher(t).Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c := e.comment(ana, tk.ID, "who am I?", false); c.AuthorName == "Ana Lima" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the new name never reached the directory")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTicketEvents_RedeliveryIsOneFrame(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)
	anaWS := e.connect(ana)
	anaWS.subscribe(tk.ID)
	handle := e.replicas[0].svc.TicketEventsHandler()

	ev, err := events.New("/workflow", events.TicketAssigned, tk.ID, workflows.AssignedEvent{TicketID: tk.ID, AssigneeID: ana.id})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	anaWS.next(messaging.FrameTicketUpdated, tk.ID)
	anaWS.none(messaging.FrameTicketUpdated, 300*time.Millisecond)

	bad, _ := events.New("/workflow", events.TicketAssigned, "", map[string]string{"ticket_id": "nope"})
	if err := handle(context.Background(), bad); !rabbitmq.IsPermanent(err) {
		t.Fatalf("an event without a ticket: %v, want a permanent failure", err)
	}
}
