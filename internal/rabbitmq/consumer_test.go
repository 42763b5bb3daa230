package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

func TestConsumer_ReceivesPublishedEvents(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	rec := newRecorder(nil)
	stop := startConsumer(t, NewConsumer(amqpURL, fastConfig("helpdesk", "ticket.*"), rec.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "helpdesk")
	p := newPublisher(t, amqpURL)

	want := map[string]bool{}
	for i := range 3 {
		e := newEvent(t, events.TicketCreated, i)
		want[e.ID] = true
		if err := p.Publish(t.Context(), e); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	// Not bound: the consumer must never see it.
	if err := p.Publish(t.Context(), newEvent(t, events.UserCreated, 9)); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	eventually(t, 10*time.Second, "3 events handled", func() bool { return rec.handled() >= 3 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.events) != 3 {
		t.Fatalf("handled %d events, want 3", len(rec.events))
	}
	for _, e := range rec.events {
		if !want[e.ID] || e.Type != events.TicketCreated {
			t.Errorf("unexpected event %s %s", e.Type, e.ID)
		}
		var data map[string]int
		if err := e.DecodeData(&data); err != nil {
			t.Errorf("DecodeData: %v", err)
		}
	}
	if msgs, _, _ := queueState(t, amqpURL, "helpdesk"); msgs != 0 {
		t.Errorf("%d messages left in the queue after they were handled", msgs)
	}
}

func TestConsumer_DeadLettersMessageThatIsNotAnEvent(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	rec := newRecorder(nil)
	startConsumer(t, NewConsumer(amqpURL, fastConfig("poison", "ticket.created"), rec.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "poison")

	ch, err := inspect(t, amqpURL).Channel()
	if err != nil {
		t.Fatal(err)
	}
	err = ch.PublishWithContext(t.Context(), DefaultExchange, events.TicketCreated, false, false,
		amqp.Publishing{ContentType: "text/plain", Body: []byte("not an event")})
	if err != nil {
		t.Fatal(err)
	}

	d := getOne(t, amqpURL, "poison"+DeadQueueSuffix)
	if string(d.Body) != "not an event" {
		t.Errorf("dead letter body = %q", d.Body)
	}
	if reason := deathReason(d); reason != "rejected" {
		t.Errorf("dead letter reason = %q, want rejected", reason)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 0 {
		t.Errorf("handler was called with a message that is not an event")
	}
}

func TestConsumer_RetriesFailingHandlerThenDeadLetters(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	rec := newRecorder(func(events.Event, int) error { return errors.New("database down") })
	cfg := fastConfig("retry", "sla.*")
	cfg.MaxDeliveries = 3
	startConsumer(t, NewConsumer(amqpURL, cfg, rec.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "retry")

	e := newEvent(t, events.SLABreached, 1)
	if err := newPublisher(t, amqpURL).Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}

	d := getOne(t, amqpURL, "retry"+DeadQueueSuffix)
	if d.MessageId != e.ID {
		t.Errorf("dead letter %s, want %s", d.MessageId, e.ID)
	}
	if reason := deathReason(d); reason != "delivery_limit" {
		t.Errorf("dead letter reason = %q, want delivery_limit", reason)
	}
	if calls := rec.callsOf(e.ID); calls != 3 {
		t.Errorf("handler called %d times, want MaxDeliveries = 3", calls)
	}
}

func TestConsumer_RetriesUntilHandlerSucceeds(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	rec := newRecorder(func(_ events.Event, call int) error {
		if call < 3 {
			return fmt.Errorf("attempt %d: temporal unavailable", call)
		}
		return nil
	})
	startConsumer(t, NewConsumer(amqpURL, fastConfig("flaky", "ticket.created"), rec.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "flaky")

	e := newEvent(t, events.TicketCreated, 1)
	if err := newPublisher(t, amqpURL).Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the event handled", func() bool { return rec.handled() == 1 })
	if calls := rec.callsOf(e.ID); calls != 3 {
		t.Errorf("handler called %d times, want 3", calls)
	}
	if msgs, _, _ := queueState(t, amqpURL, "flaky"+DeadQueueSuffix); msgs != 0 {
		t.Errorf("%d dead letters, want none", msgs)
	}
}

// A dependency that is down for longer than the message's deliveries
// would last must not dead-letter it: the consumer holds the message and
// tries again until the dependency is back.
func TestConsumer_UnavailableDependencyUsesNoDeliveries(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	rec := newRecorder(func(_ events.Event, call int) error {
		switch {
		case call <= 4:
			return fmt.Errorf("start workflow: %w", Unavailable(errors.New("temporal: connection refused")))
		case call <= 8:
			// Not marked, but a refused connection all the same.
			return fmt.Errorf("query: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
		}
		return nil
	})
	cfg := fastConfig("outage", "ticket.created")
	cfg.MaxDeliveries = 2
	startConsumer(t, NewConsumer(amqpURL, cfg, rec.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "outage")

	e := newEvent(t, events.TicketCreated, 1)
	if err := newPublisher(t, amqpURL).Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the event handled", func() bool { return rec.handled() == 1 })
	if calls := rec.callsOf(e.ID); calls != 9 {
		t.Errorf("handler called %d times, want 9 (8 failures, then success)", calls)
	}
	if msgs, _, _ := queueState(t, amqpURL, "outage"+DeadQueueSuffix); msgs != 0 {
		t.Errorf("%d dead letters, want none", msgs)
	}
}

func TestUnavailable_MarksWrappedErrors(t *testing.T) {
	base := errors.New("down")
	if Unavailable(nil) != nil {
		t.Error("Unavailable(nil) is not nil")
	}
	if err := fmt.Errorf("ctx: %w", Unavailable(base)); !IsUnavailable(err) || !errors.Is(err, base) {
		t.Errorf("wrapped Unavailable: IsUnavailable %v, Is base %v", IsUnavailable(err), errors.Is(err, base))
	}
	if IsUnavailable(base) || IsUnavailable(Permanent(base)) {
		t.Error("an unmarked error counts as unavailable")
	}
}

func TestConsumer_PermanentFailureDeadLettersAtOnce(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	rec := newRecorder(func(events.Event, int) error {
		return fmt.Errorf("start workflow: %w", Permanent(errors.New("unknown category")))
	})
	startConsumer(t, NewConsumer(amqpURL, fastConfig("permanent", "ticket.created"), rec.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "permanent")

	e := newEvent(t, events.TicketCreated, 1)
	if err := newPublisher(t, amqpURL).Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	d := getOne(t, amqpURL, "permanent"+DeadQueueSuffix)
	if d.MessageId != e.ID || deathReason(d) != "rejected" {
		t.Errorf("dead letter %s with reason %q", d.MessageId, deathReason(d))
	}
	if calls := rec.callsOf(e.ID); calls != 1 {
		t.Errorf("handler called %d times, want 1", calls)
	}
}

func TestConsumer_DeadLettersStayWithTheirQueue(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	fail := newRecorder(func(events.Event, int) error { return Permanent(errors.New("no")) })
	ok := newRecorder(nil)
	startConsumer(t, NewConsumer(amqpURL, fastConfig("failing", "ticket.created"), fail.handle, testenv.Logger(t)))
	startConsumer(t, NewConsumer(amqpURL, fastConfig("healthy", "ticket.created"), ok.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "failing")
	waitConsuming(t, amqpURL, "healthy")

	if err := newPublisher(t, amqpURL).Publish(t.Context(), newEvent(t, events.TicketCreated, 1)); err != nil {
		t.Fatal(err)
	}
	getOne(t, amqpURL, "failing"+DeadQueueSuffix)
	eventually(t, 5*time.Second, "the healthy consumer to handle the event", func() bool { return ok.handled() == 1 })
	if msgs, _, _ := queueState(t, amqpURL, "healthy"+DeadQueueSuffix); msgs != 0 {
		t.Errorf("another queue's dead letter landed in healthy.dead")
	}
}

func TestConsumer_ResumesAfterConnectionClosed(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	rec := newRecorder(nil)
	startConsumer(t, NewConsumer(amqpURL, fastConfig("resume", "user.*"), rec.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "resume")
	p := newPublisher(t, amqpURL)

	if err := p.Publish(t.Context(), newEvent(t, events.UserCreated, 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the first event", func() bool { return rec.handled() == 1 })

	closeConnections(t, amqpURL)

	// Publish may race the closing connection once; a relay would retry.
	e := newEvent(t, events.UserUpdated, 2)
	eventually(t, 5*time.Second, "a publish after the outage", func() bool { return p.Publish(t.Context(), e) == nil })
	eventually(t, 10*time.Second, "the consumer to resume", func() bool { return rec.handled() >= 2 })
	waitConsuming(t, amqpURL, "resume")
}

func TestConsumer_RunsHandlersConcurrentlyUpToPrefetch(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	var running, peak atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	handler := func(ctx context.Context, e events.Event) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	cfg := fastConfig("parallel", "comment.created")
	cfg.Prefetch = 3
	startConsumer(t, NewConsumer(amqpURL, cfg, handler, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "parallel")
	p := newPublisher(t, amqpURL)
	for i := range 6 {
		if err := p.Publish(t.Context(), newEvent(t, events.CommentCreated, i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "3 handlers running at once", func() bool { return running.Load() == 3 })
	time.Sleep(200 * time.Millisecond) // room for a 4th, which must not come
	if got := peak.Load(); got != 3 {
		t.Errorf("peak concurrency %d, want Prefetch = 3", got)
	}
	once.Do(func() { close(release) })
	eventually(t, 5*time.Second, "all handled", func() bool {
		msgs, _, _ := queueState(t, amqpURL, "parallel")
		return msgs == 0 && running.Load() == 0
	})
}

func TestConsumer_ShutdownLetsRunningHandlerFinish(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	started := make(chan struct{})
	var finished atomic.Bool
	handler := func(ctx context.Context, e events.Event) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		finished.Store(true)
		return nil
	}
	stop := startConsumer(t, NewConsumer(amqpURL, fastConfig("shutdown", "ticket.created"), handler, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "shutdown")
	if err := newPublisher(t, amqpURL).Publish(t.Context(), newEvent(t, events.TicketCreated, 1)); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !finished.Load() {
		t.Fatal("Run returned before the running handler finished")
	}
	// The handler's ack reached the broker before the connection closed.
	msgs, consumers, _ := queueState(t, amqpURL, "shutdown")
	if msgs != 0 || consumers != 0 {
		t.Errorf("after shutdown: %d messages, %d consumers; want 0, 0", msgs, consumers)
	}
}

func TestConsumer_RunFailsWhenQueueExistsWithOtherLimit(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.VHost(t)
	rec := newRecorder(nil)
	stop := startConsumer(t, NewConsumer(amqpURL, fastConfig("limits", "ticket.created"), rec.handle, testenv.Logger(t)))
	waitConsuming(t, amqpURL, "limits")
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	cfg := fastConfig("limits", "ticket.created")
	cfg.MaxDeliveries = 2
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := NewConsumer(amqpURL, cfg, rec.handle, testenv.Logger(t)).Run(ctx)
	var amqpErr *amqp.Error
	if !errors.As(err, &amqpErr) || amqpErr.Code != amqp.PreconditionFailed {
		t.Fatalf("Run with a changed delivery limit: %v, want PRECONDITION_FAILED", err)
	}
}

func TestConsumer_RunRequiresQueueAndBindings(t *testing.T) {
	rec := newRecorder(nil)
	for _, cfg := range []ConsumerConfig{{Bindings: []string{"x"}}, {Queue: "q"}} {
		if err := NewConsumer("amqp://127.0.0.1:1/", cfg, rec.handle, testenv.Logger(t)).Run(t.Context()); err == nil {
			t.Errorf("Run with %+v succeeded", cfg)
		}
	}
}

func TestPermanent_MarksWrappedErrors(t *testing.T) {
	base := errors.New("unknown category")
	err := fmt.Errorf("handle: %w", Permanent(base))
	if !IsPermanent(err) || !errors.Is(err, base) {
		t.Errorf("IsPermanent = %v, Is(base) = %v; want both true", IsPermanent(err), errors.Is(err, base))
	}
	if IsPermanent(base) || IsPermanent(nil) || Permanent(nil) != nil {
		t.Error("unmarked errors count as permanent")
	}
	if err.Error() != "handle: unknown category" {
		t.Errorf("message = %q", err.Error())
	}
}
