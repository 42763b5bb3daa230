package helpdesk_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// TestRabbitMQ runs the tests that need RabbitMQ in one virtual host,
// since making one takes seconds; each gets an events exchange of its own.
func TestRabbitMQ(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	for name, test := range map[string]func(*testing.T, broker){
		"TicketEvents_PublishedToRabbitMQ":                  testTicketEventsPublished,
		"TicketCreated_PublishedOnceAfterRabbitMQComesBack": testTicketCreatedAfterOutage,
		"UserDirectory_FollowsUserEvents":                   testUserDirectoryFollowsEvents,
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

// runRelay runs the helpdesk's outbox relay to the broker at amqpURL until
// the test ends, with short backoffs so an outage ends quickly.
func (e *env) runRelay(amqpURL, exchange string) {
	e.t.Helper()
	pub := rabbitmq.NewPublisher(amqpURL, exchange, testenv.Logger(e.t))
	relay := outbox.NewRelay(e.pool, pub, testenv.Logger(e.t), outbox.RelayOptions{
		PollInterval: 100 * time.Millisecond, MinBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	testenv.RunLoop(e.t, relay.Run)
	e.t.Cleanup(func() { _ = pub.Close() })
}

// nextEvent returns the next delivery as an event, or fails after wait.
func nextEvent(t *testing.T, d <-chan amqp.Delivery, wait time.Duration) events.Event {
	t.Helper()
	select {
	case m := <-d:
		ev, err := events.Parse(m.Body)
		if err != nil {
			t.Fatalf("event envelope: %v", err)
		}
		if m.RoutingKey != ev.Type {
			t.Fatalf("routing key %q for a %s event", m.RoutingKey, ev.Type)
		}
		return ev
	case <-time.After(wait):
		t.Fatalf("no event within %s", wait)
	}
	panic("unreachable")
}

// noEvent fails if a delivery arrives within wait.
func noEvent(t *testing.T, d <-chan amqp.Delivery, wait time.Duration, why string) {
	t.Helper()
	select {
	case m := <-d:
		t.Fatalf("%s: %s", why, m.Body)
	case <-time.After(wait):
	}
}

func testTicketEventsPublished(t *testing.T, b broker) {
	e := newEnv(t)
	created := testenv.Observe(t, b.url, b.exchange, events.TicketCreated)
	updated := testenv.Observe(t, b.url, b.exchange, events.TicketUpdated)
	e.runRelay(b.url, b.exchange)

	ana := e.user("Ana", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	tk := e.ticket(ana, e.category("Hardware"), "Laptop")
	ev := nextEvent(t, created, 10*time.Second)
	var data helpdesk.Ticket
	if err := ev.DecodeData(&data); err != nil {
		t.Fatal(err)
	}
	if ev.Source != helpdesk.EventSource || ev.Subject != tk.ID || data.ID != tk.ID || data.Status != helpdesk.StatusNew || data.Step != helpdesk.StepNew {
		t.Fatalf("ticket.created = %+v %+v", ev, data)
	}

	e.setState(tk.ID, map[string]any{"change_id": "1", "step": "triage", "status": "open", "assignee_id": agent.id})
	ev = nextEvent(t, updated, 10*time.Second)
	var upd helpdesk.TicketUpdated
	if err := ev.DecodeData(&upd); err != nil {
		t.Fatal(err)
	}
	if ev.Subject != tk.ID || upd.Ticket.AssigneeID == nil || *upd.Ticket.AssigneeID != agent.id || len(upd.Changes) != 3 || upd.ActorID != serviceClient {
		t.Fatalf("ticket.updated = %+v", upd)
	}
	// Applying the change again publishes nothing.
	e.setState(tk.ID, map[string]any{"change_id": "1", "step": "triage", "status": "open", "assignee_id": agent.id})
	noEvent(t, updated, 500*time.Millisecond, "a retried state change was published")
}

func testTicketCreatedAfterOutage(t *testing.T, b broker) {
	e := newEnv(t)
	created := testenv.Observe(t, b.url, b.exchange, events.TicketCreated)
	u, err := url.Parse(b.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	e.runRelay(proxy.URL(b.url), b.exchange)
	ana := e.user("Ana", authn.RoleEmployee)
	hw := e.category("Hardware")

	proxy.Down() // RabbitMQ is unreachable for the relay.
	var tk helpdesk.Ticket
	e.do("POST", "/helpdesk/tickets", ana.token, map[string]string{"title": "Laptop", "category_id": hw.ID}).
		ok(t, http.StatusCreated, &tk)
	noEvent(t, created, time.Second, "event published while RabbitMQ was unreachable")
	if n := e.count(`SELECT count(*) FROM outbox WHERE type = 'ticket.created' AND published_at IS NULL`); n != 1 {
		t.Fatalf("pending ticket.created = %d, want 1", n)
	}

	proxy.Up()
	ev := nextEvent(t, created, 20*time.Second)
	var data helpdesk.Ticket
	if err := ev.DecodeData(&data); err != nil {
		t.Fatal(err)
	}
	if ev.Subject != tk.ID || data.ID != tk.ID || data.Title != "Laptop" {
		t.Fatalf("ticket.created = %+v", data)
	}
	noEvent(t, created, 500*time.Millisecond, "a second ticket.created arrived")
	if n := e.count(`SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 0 {
		t.Fatalf("pending events = %d after RabbitMQ came back, want 0", n)
	}
}
