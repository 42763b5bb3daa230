package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

const exchange = "ticketflow.events"

// runRelay runs the auth outbox relay against amqpURL until the test ends.
func (e *env) runRelay(amqpURL string) {
	e.t.Helper()
	pub := rabbitmq.NewPublisher(amqpURL, exchange, testenv.Logger(e.t))
	relay := outbox.NewRelay(e.pool, pub, testenv.Logger(e.t), outbox.RelayOptions{PollInterval: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = relay.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
		_ = pub.Close()
	})
}

func nextUserEvent(t *testing.T, d <-chan amqp.Delivery, wait time.Duration) (events.Event, auth.UserEvent) {
	t.Helper()
	select {
	case m := <-d:
		ev, err := events.Parse(m.Body)
		if err != nil {
			t.Fatalf("event envelope: %v", err)
		}
		var u auth.UserEvent
		if err := json.Unmarshal(ev.Data, &u); err != nil {
			t.Fatal(err)
		}
		return ev, u
	case <-time.After(wait):
		t.Fatalf("no event within %s", wait)
	}
	panic("unreachable")
}

func TestRoleChange_PublishesUserUpdated(t *testing.T) {
	e := newEnv(t)
	amqpURL := testenv.VHost(t)
	updated := testenv.Observe(t, amqpURL, exchange, events.UserUpdated)
	created := testenv.Observe(t, amqpURL, exchange, events.UserCreated)
	e.runRelay(amqpURL)

	admin := e.createUser("root@example.com", authn.RoleAdmin)
	u := e.register("ana@example.com", "Ana")
	for range 2 {
		ev, data := nextUserEvent(t, created, 10*time.Second)
		if ev.Type != events.UserCreated || ev.Source != auth.EventSource || ev.SpecVersion != "1.0" {
			t.Fatalf("event = %+v", ev)
		}
		if data.ID != admin.ID && data.ID != u.ID {
			t.Fatalf("user.created for %s", data.ID)
		}
	}

	tok := e.login(admin.Email, admin.password).AccessToken
	if r := e.do("PATCH", "/auth/users/"+u.ID, tok, map[string]any{"role": "agent"}); r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	ev, data := nextUserEvent(t, updated, 10*time.Second)
	if ev.Subject != u.ID || data.Role != authn.RoleAgent || !data.Active || data.Email != u.Email {
		t.Fatalf("user.updated = %+v %+v", ev, data)
	}
}

func TestRoleChange_PublishedAfterRabbitMQComesBack(t *testing.T) {
	e := newEnv(t)
	amqpURL := testenv.VHost(t)
	updated := testenv.Observe(t, amqpURL, exchange, events.UserUpdated)
	u, _ := url.Parse(amqpURL)
	proxy := testenv.NewProxy(t, u.Host)
	e.runRelay(proxy.URL(amqpURL))

	admin := e.createUser("root@example.com", authn.RoleAdmin)
	emp := e.register("ana@example.com", "Ana")
	tok := e.login(admin.Email, admin.password).AccessToken

	proxy.Down() // RabbitMQ is unreachable for the relay.
	if r := e.do("PATCH", "/auth/users/"+emp.ID, tok, map[string]any{"role": "agent"}); r.status != http.StatusOK {
		t.Fatalf("patch while RabbitMQ is down: %d %s", r.status, r.body)
	}
	select {
	case m := <-updated:
		t.Fatalf("event published while RabbitMQ was unreachable: %s", m.Body)
	case <-time.After(time.Second):
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE type = 'user.updated' AND published_at IS NULL`); n != 1 {
		t.Fatalf("pending user.updated = %d, want 1", n)
	}

	proxy.Up()
	_, data := nextUserEvent(t, updated, 40*time.Second)
	if data.ID != emp.ID || data.Role != authn.RoleAgent {
		t.Fatalf("user.updated = %+v", data)
	}
	select {
	case m := <-updated:
		t.Fatalf("a second user.updated arrived: %s", m.Body)
	case <-time.After(500 * time.Millisecond):
	}
}

// TestRoleChange_PublishedAfterRabbitMQRestart stops a RabbitMQ node of the
// test's own for real (a broker outage, not a network cut), changes a role
// meanwhile, and starts the node again: the relay reconnects and
// user.updated reaches the exchange once. The observing queue is a durable
// quorum queue, as the consumers' are, so that it outlives the restart.
func TestRoleChange_PublishedAfterRabbitMQRestart(t *testing.T) {
	node := testenv.StartRabbitMQNode(t, "")
	e := newEnv(t)
	observer := testenv.Name("observer")
	declareObserver(t, node.URL(), observer, events.UserUpdated)
	e.runRelay(node.URL())

	admin := e.createUser("root@example.com", authn.RoleAdmin)
	emp := e.register("ana@example.com", "Ana")
	tok := e.login(admin.Email, admin.password).AccessToken
	deadline := time.Now().Add(20 * time.Second)
	for e.count(`SELECT count(*) FROM outbox WHERE published_at IS NULL`) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("user.created not published within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	if err := node.Stop(); err != nil {
		t.Fatal(err)
	}
	if r := e.do("PATCH", "/auth/users/"+emp.ID, tok, map[string]any{"role": "agent"}); r.status != http.StatusOK {
		t.Fatalf("patch while RabbitMQ is stopped: %d %s", r.status, r.body)
	}
	// The relay tries, and fails, for a while: the event waits in the outbox.
	time.Sleep(2 * time.Second)
	if n := e.count(`SELECT count(*) FROM outbox WHERE type = 'user.updated' AND published_at IS NULL`); n != 1 {
		t.Fatalf("pending user.updated while RabbitMQ is stopped = %d, want 1", n)
	}

	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(node.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	updated, err := ch.Consume(observer, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, data := nextUserEvent(t, updated, 60*time.Second)
	if ev.Type != events.UserUpdated || ev.Subject != emp.ID || data.ID != emp.ID || data.Role != authn.RoleAgent || !data.Active {
		t.Fatalf("user.updated = %+v %+v", ev, data)
	}
	select {
	case m := <-updated:
		t.Fatalf("a second user.updated arrived: %s", m.Body)
	case <-time.After(time.Second):
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 0 {
		t.Fatalf("%d events still pending after the restart", n)
	}
}

// declareObserver declares a durable quorum queue bound to key on the
// events exchange of the broker at amqpURL, which keeps what is published
// to it across broker restarts.
func declareObserver(t *testing.T, amqpURL, queue, key string) {
	t.Helper()
	ch, closeCh := testenv.Channel(t, amqpURL)
	defer closeCh()
	if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(queue, key, exchange, false, nil); err != nil {
		t.Fatal(err)
	}
}
