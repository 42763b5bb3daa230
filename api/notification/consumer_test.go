package notification_test

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// TestRabbitMQ runs the tests that need RabbitMQ in one virtual host,
// since making one takes seconds; each gets an exchange and a queue of its
// own.
func TestRabbitMQ(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	for name, test := range map[string]func(*testing.T, broker){
		"Assignment_OneEmailThroughSendGridAndOneLiveNotification": testAssignmentThroughSendGrid,
		"Assignment_OneEmailThroughSMTPAndOneLiveNotification":     testAssignmentThroughSMTP,
		"MalformedEvents_DeadLettered":                             testMalformedEventsDeadLettered,
		"BrokerRestart_EveryEventHandledExactlyOnce":               testBrokerRestart,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, broker{url: amqpURL, exchange: testenv.Name("events"), queue: testenv.Name("notification")})
		})
	}
}

// broker is a test's share of RabbitMQ: a vhost's URL, an exchange and the
// consumer's queue.
type broker struct {
	url      string
	exchange string
	queue    string
}

// consume runs the notification consumer of b's queue, connecting to
// amqpURL (b.url, or a proxy in front of it), until the test ends, and
// waits until it consumes. One message at a time, so the tests know what
// was handled before what.
func (e *env) consume(b broker, amqpURL string) {
	e.t.Helper()
	log := testenv.Logger(e.t)
	c := rabbitmq.NewConsumer(amqpURL, rabbitmq.ConsumerConfig{
		Exchange:   b.exchange,
		Queue:      b.queue,
		Bindings:   notification.EventTypes(),
		Prefetch:   1,
		RetryDelay: 50 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond,
		MaxBackoff: 300 * time.Millisecond,
	}, e.svc.HandleEvent, log)
	testenv.RunLoop(e.t, c.Run)
	testenv.WaitForConsumer(e.t, b.url, b.queue)
}

// inspect returns the state of a queue.
func (b broker) inspect(t *testing.T, queue string) (amqp.Queue, error) {
	t.Helper()
	ch, closeCh := testenv.Channel(t, b.url)
	defer closeCh()
	defer ch.Close()
	return ch.QueueDeclarePassive(queue, true, false, false, false, nil)
}

// publisher returns a function that publishes events to b's exchange,
// connected to the broker directly.
func (b broker) publisher(t *testing.T) func(events.Event) {
	pub := rabbitmq.NewPublisher(b.url, b.exchange, testenv.Logger(t))
	t.Cleanup(func() { _ = pub.Close() })
	return func(ev events.Event) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pub.Publish(ctx, ev); err != nil {
			t.Fatalf("publish %s: %v", ev.Type, err)
		}
	}
}

// sentMail is an e-mail as a transport delivered it.
type sentMail struct {
	to, from, subject                string
	messageID, inReplyTo, references string
}

func testAssignmentThroughSendGrid(t *testing.T, b broker) {
	sg := newFakeSendGrid(t)
	testAssignment(t, b, sg.mailer(), func() []sentMail {
		var out []sentMail
		for _, r := range sg.sent() {
			out = append(out, sentMail{
				to: r.to().Email, from: r.From.Email, subject: r.Subject,
				messageID: r.Headers["Message-ID"], inReplyTo: r.Headers["In-Reply-To"], references: r.Headers["References"],
			})
		}
		return out
	})
}

func testAssignmentThroughSMTP(t *testing.T, b broker) {
	srv := newSMTPServer(t)
	testAssignment(t, b, srv.mailer(t), func() []sentMail {
		var out []sentMail
		for _, m := range srv.received() {
			if !m.tls || m.user != smtpUser {
				t.Errorf("mail received over TLS %v, signed in as %q; want STARTTLS and AUTH as %s", m.tls, m.user, smtpUser)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(m.data))
			if err != nil {
				t.Fatalf("received mail does not parse: %v\n%s", err, m.data)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			from, _ := mail.ParseAddress(msg.Header.Get("From"))
			out = append(out, sentMail{
				to: strings.Join(m.to, ","), from: from.Address, subject: subject,
				messageID: msg.Header.Get("Message-ID"), inReplyTo: msg.Header.Get("In-Reply-To"), references: msg.Header.Get("References"),
			})
		}
		return out
	})
}

// testAssignment sends users and an assignment through RabbitMQ and
// checks that the assignee hears of it once, live and by e-mail, even
// when the assignment is delivered again.
func testAssignment(t *testing.T, b broker, mailer notification.Mailer, sent func() []sentMail) {
	e := newEnv(t, mailer)
	e.runSender()
	e.consume(b, b.url)
	publish := b.publisher(t)

	requester := newPerson(t, e.keys, "Rita Requester", authn.RoleEmployee)
	agent := newPerson(t, e.keys, "Alex Agent", authn.RoleAgent)
	t0 := time.Now().Add(-time.Minute)
	publish(userEvent(t, events.UserCreated, requester, true, t0))
	publish(userEvent(t, events.UserCreated, agent, true, t0))
	eventually(t, 10*time.Second, "both users in the directory", func() bool { return e.count(`SELECT count(*) FROM users`) == 2 })

	live := e.subscribe(agent)
	tk := ticket("VPN drops every hour", requester, &agent)
	assignment := assigned(t, tk, agent, "")
	publish(assignment)

	n := liveNotification(t, live)
	if n.Kind != notification.KindAssigned || n.TicketID != tk.ID || n.Link != "/tickets/"+tk.ID || n.ReadAt != nil ||
		!strings.Contains(n.Title, tk.Title) || n.ID == "" || n.CreatedAt.IsZero() {
		t.Fatalf("live notification = %+v", n)
	}
	eventually(t, 10*time.Second, "the e-mail sent", func() bool { return len(sent()) == 1 })
	m := sent()[0]
	want := sentMail{
		to: agent.email, from: "desk@example.com", subject: "Assigned to you: " + tk.Title,
		messageID:  fmt.Sprintf("<ticket-%s-%s@%s>", tk.ID, n.ID, mailHost),
		inReplyTo:  fmt.Sprintf("<ticket-%s@%s>", tk.ID, mailHost),
		references: fmt.Sprintf("<ticket-%s@%s>", tk.ID, mailHost),
	}
	if m != want {
		t.Fatalf("e-mail =\n%+v\nwant\n%+v", m, want)
	}

	// The same event again, as after a lost ack, then a marker: with one
	// message in flight at a time, once the marker is handled so is the
	// duplicate.
	publish(assignment)
	requester.name = "Rita Renamed"
	publish(userEvent(t, events.UserUpdated, requester, true, time.Now()))
	eventually(t, 10*time.Second, "the marker handled", func() bool {
		return e.count(`SELECT count(*) FROM users WHERE name = 'Rita Renamed'`) == 1
	})
	noMore(t, live, 300*time.Millisecond)
	if got := len(sent()); got != 1 {
		t.Fatalf("%d e-mails sent, want 1", got)
	}
	if got := e.notificationsOf(agent); len(got) != 1 {
		t.Fatalf("agent's notifications = %+v, want one", got)
	}
	if got := e.notificationsOf(requester); len(got) != 0 {
		t.Fatalf("requester's notifications = %+v, want none", got)
	}
}

func testMalformedEventsDeadLettered(t *testing.T, b broker) {
	e := newEnv(t, newFakeSendGrid(t).mailer())
	e.consume(b, b.url)
	publish := b.publisher(t)

	wrongShape := newEvent(t, "/workflow", events.TicketAssigned, "", []int{1})
	badID := newEvent(t, "/workflow", events.TicketAssigned, "", map[string]string{"ticket_id": "42", "assignee_id": "someone"})
	publish(wrongShape)
	publish(badID)
	// Not even an event: the consumer itself dead-letters it.
	ch, closeCh := testenv.Channel(t, b.url)
	defer closeCh()
	if err := ch.PublishWithContext(t.Context(), b.exchange, events.TicketAssigned, false, false,
		amqp.Publishing{ContentType: "application/json", Body: []byte(`{"ticket_id":`)}); err != nil {
		t.Fatal(err)
	}

	eventually(t, 10*time.Second, "three dead letters", func() bool {
		q, err := b.inspect(t, b.queue+rabbitmq.DeadQueueSuffix)
		return err == nil && q.Messages == 3
	})
	// The consumer goes on with the next event.
	p := newPerson(t, e.keys, "Nora Next", authn.RoleEmployee)
	publish(userEvent(t, events.UserCreated, p, true, time.Now()))
	eventually(t, 10*time.Second, "the next event handled", func() bool { return e.count(`SELECT count(*) FROM users`) == 1 })
	if n := e.count(`SELECT count(*) FROM notifications`) + e.count(`SELECT count(*) FROM inbox`); n != 1 {
		t.Fatalf("rows written by malformed events: %d", n-1)
	}
}

func testBrokerRestart(t *testing.T, b broker) {
	sg := newFakeSendGrid(t)
	e := newEnv(t, sg.mailer())
	e.runSender()
	agent := e.person("Alex Agent", authn.RoleAgent)
	requester := e.person("Rita Requester", authn.RoleEmployee)
	// The consumer reaches RabbitMQ through a proxy the test cuts; the
	// publisher goes straight to it, as the other services would.
	u, err := url.Parse(b.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	e.consume(b, proxy.URL(b.url))
	publish := b.publisher(t)

	const total = 30
	for i := range total / 2 {
		publish(assigned(t, ticket(fmt.Sprintf("Before %d", i), requester, &agent), agent, ""))
	}
	// Cut while the first batch is being handled.
	eventually(t, 10*time.Second, "some handled", func() bool { return e.count(`SELECT count(*) FROM notifications`) >= 3 })
	proxy.Down()
	for i := range total / 2 {
		publish(assigned(t, ticket(fmt.Sprintf("During %d", i), requester, &agent), agent, ""))
	}
	time.Sleep(300 * time.Millisecond)
	proxy.Up()

	eventually(t, 20*time.Second, "every event handled", func() bool {
		return e.count(`SELECT count(*) FROM notifications`) == total
	})
	eventually(t, 10*time.Second, "every e-mail sent", func() bool { return len(sg.sent()) == total })
	time.Sleep(300 * time.Millisecond) // room for duplicates, which must not come
	if n := e.count(`SELECT count(DISTINCT ticket_id) FROM notifications`); n != total {
		t.Fatalf("%d tickets notified, want %d", n, total)
	}
	ids := map[string]bool{}
	for _, r := range sg.sent() {
		ids[r.Headers["Message-ID"]] = true
	}
	if len(ids) != total || len(sg.sent()) != total {
		t.Fatalf("%d e-mails with %d distinct Message-IDs, want %d of each", len(sg.sent()), len(ids), total)
	}
	q, err := b.inspect(t, b.queue)
	if err != nil || q.Messages != 0 {
		t.Fatalf("queue after the restart: %+v, %v; want it drained", q, err)
	}
}
