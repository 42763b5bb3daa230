package rabbitmq

import (
	"context"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

func TestPublisherWithQueues_KeepsEventsPublishedBeforeTheConsumerStarts(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	cfg := fastConfig("early.consumer", events.TicketCreated)
	pub := NewPublisher(amqpURL, "", testenv.Logger(t), WithQueues(cfg))
	t.Cleanup(func() { _ = pub.Close() })

	e := newEvent(t, events.TicketCreated, 1)
	if err := pub.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	// The consumer starts only now, with the same configuration.
	rec := newRecorder(nil)
	startConsumer(t, NewConsumer(amqpURL, cfg, rec.handle, testenv.Logger(t)))
	eventually(t, 10*time.Second, "the early event handled", func() bool { return rec.callsOf(e.ID) == 1 })
}

func TestPublisherWithoutQueues_DropsEventsNobodyIsBoundTo(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	cfg := fastConfig("late.consumer", events.TicketCreated)
	pub := newPublisher(t, amqpURL)
	// The control for the test above: topic semantics drop the event.
	if err := pub.Publish(context.Background(), newEvent(t, events.TicketCreated, 1)); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(nil)
	startConsumer(t, NewConsumer(amqpURL, cfg, rec.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, cfg.Queue)
	time.Sleep(300 * time.Millisecond)
	if n := rec.handled(); n != 0 {
		t.Fatalf("handled %d events published before the queue existed", n)
	}
}

func TestDeclare_CreatesQueuesAheadOfTheirConsumers(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	cfgs := []ConsumerConfig{fastConfig("declared.a", events.UserCreated), fastConfig("declared.b", "ticket.*")}
	for range 2 { // idempotent
		if err := Declare(context.Background(), amqpURL, cfgs...); err != nil {
			t.Fatal(err)
		}
	}
	pub := newPublisher(t, amqpURL)
	for i, typ := range []string{events.UserCreated, events.TicketAssigned} {
		if err := pub.Publish(context.Background(), newEvent(t, typ, i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"declared.a", "declared.b"} {
		eventually(t, 5*time.Second, q+" holding its event", func() bool {
			n, _, ok := queueState(t, amqpURL, q)
			return ok && n == 1
		})
		if _, _, ok := queueState(t, amqpURL, q+DeadQueueSuffix); !ok {
			t.Fatalf("dead-letter queue of %s missing", q)
		}
	}
}
