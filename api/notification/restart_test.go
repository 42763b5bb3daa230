package notification_test

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// TestRabbitMQRestart_MidStreamLosesNothing publishes a stream of
// ticket.assigned and comment.created events while the notification
// consumer runs, and really stops and starts the broker (a private node:
// the shared one is never touched) in the middle of it. Every event
// produces exactly one in-app notification and one e-mail, over SMTP:
// what the broker confirmed survives in the quorum queue, what it did not
// is published again, and what was handled but not acknowledged comes
// back and is recognised.
func TestRabbitMQRestart_MidStreamLosesNothing(t *testing.T) {
	t.Parallel()
	node := testenv.StartRabbitMQNode(t, "")
	smtpSrv := newSMTPServer(t)
	e := newEnv(t, smtpSrv.mailer(t))
	e.runSender()
	agent := e.person("Alex Agent", authn.RoleAgent)
	requester := e.person("Rita Requester", authn.RoleEmployee)
	b := broker{url: node.URL(), exchange: testenv.Name("events"), queue: testenv.Name("notification")}
	// The real handler, paced so that the broker stops while events wait
	// in the queue and one is being handled.
	c := rabbitmq.NewConsumer(node.URL(), rabbitmq.ConsumerConfig{
		Exchange: b.exchange, Queue: b.queue, Bindings: notification.EventTypes(), Prefetch: 1,
		RetryDelay: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond,
	}, func(ctx context.Context, ev events.Event) error {
		time.Sleep(100 * time.Millisecond)
		return e.svc.HandleEvent(ctx, ev)
	}, testenv.Logger(t))
	testenv.RunLoop(t, c.Run)
	testenv.WaitForConsumer(t, b.url, b.queue)

	// Each event tells the agent one thing: half assign them a ticket, the
	// other half are the requester's comments on it.
	const total = 40
	var stream []events.Event
	for i := range total / 2 {
		tk := ticket(fmt.Sprintf("Ticket %d", i), requester, &agent)
		stream = append(stream, assigned(t, tk, agent, ""), commented(t, tk, requester, false, fmt.Sprintf("Comment %d", i)))
	}

	// The publisher goes on through the outage as the outbox relays do:
	// an event not confirmed is published again.
	pub := rabbitmq.NewPublisher(node.URL(), b.exchange, testenv.Logger(t))
	t.Cleanup(func() { _ = pub.Close() })
	var published, retries atomic.Int64
	streamDone := make(chan error, 1)
	// The first half goes out while the broker runs, the second half once
	// it has been stopped.
	stopped := make(chan struct{})
	go func() {
		for i, ev := range stream {
			if i == total/2 {
				<-stopped
			}
			deadline := time.Now().Add(3 * time.Minute)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := pub.Publish(ctx, ev)
				cancel()
				if err == nil {
					break
				}
				retries.Add(1)
				if time.Now().After(deadline) {
					streamDone <- fmt.Errorf("publish %s %s: %w", ev.Type, ev.ID, err)
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			published.Add(1)
			time.Sleep(25 * time.Millisecond)
		}
		streamDone <- nil
	}()

	eventually(t, 30*time.Second, "the stream under way", func() bool {
		return published.Load() == total/2 && e.count(`SELECT count(*) FROM notifications WHERE user_id = $1`, agent.id) >= 3
	})
	if err := node.Stop(); err != nil {
		close(stopped)
		t.Fatal(err)
	}
	close(stopped)
	handledAtStop := e.count(`SELECT count(*) FROM notifications`)
	time.Sleep(2 * time.Second) // the publisher meets the stopped broker
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-streamDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(4 * time.Minute):
		t.Fatal("the stream did not end within 4 minutes")
	}
	t.Logf("%d of %d events published and %d handled when the broker stopped; %d publishes retried", total/2, total, handledAtStop, retries.Load())
	if retries.Load() == 0 {
		t.Fatal("no publish met the stopped broker")
	}

	eventually(t, 60*time.Second, "every event handled", func() bool {
		return e.count(`SELECT count(*) FROM inbox WHERE event_id = ANY($1)`, eventIDs(stream)) == total
	})
	eventually(t, 30*time.Second, "every e-mail sent", func() bool { return len(smtpSrv.received()) >= total })
	time.Sleep(500 * time.Millisecond) // room for duplicates, which must not come

	// One notification per event, each for the agent, none for anyone else.
	if n := e.count(`SELECT count(*) FROM notifications`); n != total {
		t.Fatalf("%d notifications, want %d", n, total)
	}
	if n := e.count(`SELECT count(DISTINCT event_id) FROM notifications WHERE user_id = $1 AND event_id = ANY($2)`, agent.id, eventIDs(stream)); n != total {
		t.Fatalf("%d events notified the agent, want %d", n, total)
	}
	// One e-mail per notification, to the agent.
	got := smtpSrv.received()
	ids := map[string]int{}
	for _, m := range got {
		msg, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.to) != 1 || m.to[0] != agent.email {
			t.Fatalf("e-mail to %v, want %s", m.to, agent.email)
		}
		ids[msg.Header.Get("Message-ID")]++
	}
	if len(got) != total || len(ids) != total {
		t.Fatalf("%d e-mails with %d distinct Message-IDs, want %d of each", len(got), len(ids), total)
	}
	if n := e.count(`SELECT count(*) FROM email_deliveries WHERE status = 'sent'`); n != total {
		t.Fatalf("%d deliveries sent, want %d", n, total)
	}
	q, err := b.inspect(t, b.queue)
	if err != nil || q.Messages != 0 {
		t.Fatalf("queue after the restart: %+v, %v; want it drained", q, err)
	}
	dead, err := b.inspect(t, b.queue+rabbitmq.DeadQueueSuffix)
	if err != nil || dead.Messages != 0 {
		t.Fatalf("dead letters after the restart: %+v, %v; want none", dead, err)
	}
}

// eventIDs returns the IDs of es.
func eventIDs(es []events.Event) []string {
	ids := make([]string, len(es))
	for i, ev := range es {
		ids[i] = ev.ID
	}
	return ids
}
