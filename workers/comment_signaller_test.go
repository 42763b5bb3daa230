package workers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

// signalCatcher stands in for a ticket's workflow: it returns the first
// comment signal it gets.
func signalCatcher(ctx workflow.Context) (workflows.CommentSignal, error) {
	var c workflows.CommentSignal
	workflow.GetSignalChannel(ctx, workflows.SignalComment).Receive(ctx, &c)
	return c, nil
}

// A comment whose ticket has no workflow yet (its ticket.created is still
// on the way) is held, not dropped and not dead-lettered, and reaches the
// workflow once it runs.
func TestCommentSignaller_HoldsCommentUntilTheWorkflowExists(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	log := testenv.Logger(t)
	amqpURL := testenv.VHost(t)
	tc, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(), Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)

	queue := testenv.Name("comments")
	consumer := rabbitmq.NewConsumer(amqpURL, rabbitmq.ConsumerConfig{
		Exchange: "ticketflow.events", Queue: queue, Bindings: []string{events.CommentCreated},
		RetryDelay: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		MaxDeliveries: 2,
	}, NewCommentSignaller(tc, log), log)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- consumer.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	ticketID := uuid.NewString()
	e, err := events.New("/test", events.CommentCreated, ticketID, map[string]any{
		"comment_id": uuid.NewString(), "ticket_id": ticketID, "author_id": uuid.NewString(),
		"author_role": "agent", "internal": false, "created_at": time.Now().UTC(),
	})
	if err != nil {
		t.Fatal(err)
	}
	pub := rabbitmq.NewPublisher(amqpURL, "ticketflow.events", log, rabbitmq.WithQueues(rabbitmq.ConsumerConfig{
		Exchange: "ticketflow.events", Queue: queue, Bindings: []string{events.CommentCreated}, MaxDeliveries: 2,
	}))
	t.Cleanup(func() { _ = pub.Close() })
	if err := pub.Publish(ctx, e); err != nil {
		t.Fatal(err)
	}

	// Longer than two deliveries' worth of retries: still held.
	time.Sleep(2 * time.Second)
	// (Held means unacknowledged, which a passive declare does not count:
	// the signal arriving below shows it was kept.)
	if dead := deadLetters(t, amqpURL, queue); dead != 0 {
		t.Fatalf("before the workflow: %d dead letters, want the comment held", dead)
	}

	taskQueue := testenv.Name("tq")
	w := worker.New(tc, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(signalCatcher, workflow.RegisterOptions{Name: "signalCatcher"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.TicketWorkflowID(ticketID), TaskQueue: taskQueue, WorkflowExecutionTimeout: time.Minute,
	}, "signalCatcher")
	if err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var got workflows.CommentSignal
	if err := run.Get(waitCtx, &got); err != nil {
		t.Fatalf("the workflow got no comment: %v", err)
	}
	if got.EventID != e.ID {
		t.Errorf("signal for event %s, want %s", got.EventID, e.ID)
	}
}

// deadLetters returns how many messages queue's dead-letter queue holds.
func deadLetters(t *testing.T, amqpURL, queue string) int {
	t.Helper()
	ch, closeCh := testenv.Channel(t, amqpURL)
	defer closeCh()
	d, err := ch.QueueDeclarePassive(queue+rabbitmq.DeadQueueSuffix, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.Messages
}

func TestTemporalFailure_MarksUnreachableTemporalOnly(t *testing.T) {
	for _, tc := range []struct {
		err         error
		unavailable bool
	}{
		{serviceerror.NewUnavailable("connection refused"), true},
		{serviceerror.NewDeadlineExceeded("slow"), true},
		{serviceerror.NewResourceExhausted(0, "busy"), true},
		{context.DeadlineExceeded, true},
		{serviceerror.NewNotFound("no such workflow"), false},
		{serviceerror.NewInvalidArgument("bad"), false},
		{errors.New("something else"), false},
	} {
		got := rabbitmq.IsUnavailable(temporalFailure(fmt.Errorf("call: %w", tc.err)))
		if got != tc.unavailable {
			t.Errorf("%T %v: unavailable %v, want %v", tc.err, tc.err, got, tc.unavailable)
		}
	}
	if temporalFailure(nil) != nil {
		t.Error("temporalFailure(nil) is not nil")
	}
}
