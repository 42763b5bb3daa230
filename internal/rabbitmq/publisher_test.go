package rabbitmq

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// bindTestQueue declares a classic queue bound to the events exchange, to
// catch what the publisher sends.
func bindTestQueue(t *testing.T, amqpURL, key string) string {
	t.Helper()
	ch, err := inspect(t, amqpURL).Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := declareExchanges(ch, DefaultExchange); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("catch", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, key, DefaultExchange, false, nil); err != nil {
		t.Fatal(err)
	}
	return q.Name
}

func TestPublish_ConfirmedMessageCarriesTheEnvelope(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	queue := bindTestQueue(t, amqpURL, "ticket.*")
	p := newPublisher(t, amqpURL)
	ctx := t.Context()

	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	e := newEvent(t, events.TicketCreated, 1)
	if err := p.Publish(ctx, e); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	// Publish returned after the confirm, so the message is already queued.
	msgs, _, _ := queueState(t, amqpURL, queue)
	if msgs != 1 {
		t.Fatalf("queue holds %d messages right after a confirmed publish, want 1", msgs)
	}
	d := getOne(t, amqpURL, queue)
	if d.RoutingKey != events.TicketCreated || d.Exchange != DefaultExchange {
		t.Errorf("routed by %s/%s, want %s/%s", d.Exchange, d.RoutingKey, DefaultExchange, events.TicketCreated)
	}
	if d.DeliveryMode != amqp.Persistent || d.ContentType != ContentType || d.MessageId != e.ID {
		t.Errorf("delivery mode %d, content type %q, message id %q", d.DeliveryMode, d.ContentType, d.MessageId)
	}
	got, err := events.Parse(d.Body)
	if err != nil {
		t.Fatalf("body is not an event: %v", err)
	}
	if got.ID != e.ID || got.Type != e.Type || string(got.Data) != string(e.Data) {
		t.Errorf("published %+v, got %+v", e, got)
	}
}

func TestPublish_RejectsInvalidEvent(t *testing.T) {
	p := NewPublisher("amqp://guest:guest@127.0.0.1:1/", "", testenv.Logger(t))
	err := p.Publish(t.Context(), events.Event{ID: "x"})
	if !errors.Is(err, events.ErrInvalid) {
		t.Fatalf("Publish of an invalid event: %v, want ErrInvalid", err)
	}
}

func TestPublish_FailsWhenBrokerUnreachable(t *testing.T) {
	t.Parallel()
	// Port 1 refuses connections: the broker is down.
	p := NewPublisher("amqp://guest:guest@127.0.0.1:1/", "", testenv.Logger(t), WithDialRetry(3, 20*time.Millisecond))
	defer p.Close()
	e := newEvent(t, events.TicketCreated, 1)

	start := time.Now()
	if err := p.Publish(t.Context(), e); err == nil {
		t.Fatal("Publish to an unreachable broker succeeded")
	}
	if err := p.Ping(t.Context()); err == nil {
		t.Fatal("Ping of an unreachable broker succeeded")
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("failing took %v; the retries should be short", elapsed)
	}

	// A long backoff is cut short by the caller's deadline.
	slow := NewPublisher("amqp://guest:guest@127.0.0.1:1/", "", testenv.Logger(t), WithDialRetry(10, time.Minute))
	defer slow.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := slow.Publish(ctx, e); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Publish with a deadline: %v, want DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Publish ignored its deadline: took %v", elapsed)
	}
}

func TestPublish_AfterCloseFails(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	p := newPublisher(t, amqpURL)
	if err := p.Publish(t.Context(), newEvent(t, events.UserCreated, 1)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Publish(t.Context(), newEvent(t, events.UserCreated, 2)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
}

func TestPublish_ReconnectsAfterConnectionClosed(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	queue := bindTestQueue(t, amqpURL, "#")
	p := newPublisher(t, amqpURL)
	ctx := t.Context()

	if err := p.Publish(ctx, newEvent(t, events.TicketUpdated, 1)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	first := p.conn

	closeConnections(t, amqpURL)
	eventually(t, 5*time.Second, "the client to notice the closed connection", first.IsClosed)

	// The next publish redials on its own.
	if err := p.Publish(ctx, newEvent(t, events.TicketUpdated, 2)); err != nil {
		t.Fatalf("Publish after the connection was closed: %v", err)
	}
	if p.conn == first {
		t.Fatal("publisher kept the closed connection")
	}
	msgs, _, _ := queueState(t, amqpURL, queue)
	if msgs != 2 {
		t.Fatalf("queue holds %d messages, want 2", msgs)
	}
}

func TestPublish_ConcurrentPublishesAreAllConfirmed(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	queue := bindTestQueue(t, amqpURL, "#")
	p := newPublisher(t, amqpURL)

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		e := newEvent(t, events.CommentCreated, i)
		wg.Go(func() { errs <- p.Publish(t.Context(), e) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Publish: %v", err)
		}
	}
	msgs, _, _ := queueState(t, amqpURL, queue)
	if msgs != n {
		t.Fatalf("queue holds %d messages, want %d", msgs, n)
	}
}

func TestPublishBatch_ConfirmsAllInOrder(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	queue := bindTestQueue(t, amqpURL, "ticket.*")
	pub := newPublisher(t, amqpURL)
	batch := make([]events.Event, 50)
	for i := range batch {
		batch[i] = newEvent(t, events.TicketCreated, i)
	}
	n, err := pub.PublishBatch(context.Background(), batch)
	if err != nil || n != len(batch) {
		t.Fatalf("PublishBatch = %d, %v; want %d, nil", n, err, len(batch))
	}
	// Confirmed means queued: all of them are there, in order.
	for i := range batch {
		if got := getOne(t, amqpURL, queue).MessageId; got != batch[i].ID {
			t.Fatalf("message %d is %s, want %s", i, got, batch[i].ID)
		}
	}
}

func TestPublishBatch_RejectsAnInvalidEventBeforeSendingAny(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	queue := bindTestQueue(t, amqpURL, "ticket.*")
	pub := newPublisher(t, amqpURL)
	bad := newEvent(t, events.TicketCreated, 1)
	bad.SpecVersion = "0.3"
	n, err := pub.PublishBatch(context.Background(), []events.Event{newEvent(t, events.TicketCreated, 0), bad})
	if err == nil || n != 0 {
		t.Fatalf("PublishBatch = %d, %v; want 0 and an error", n, err)
	}
	if msgs, _, _ := queueState(t, amqpURL, queue); msgs != 0 {
		t.Fatalf("%d messages sent from a batch with an invalid event", msgs)
	}
}
