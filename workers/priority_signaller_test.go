package workers

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

// priorityCatcher stands in for a ticket's workflow: it returns the first
// priority signal it gets.
func priorityCatcher(ctx workflow.Context) (workflows.PrioritySignal, error) {
	var p workflows.PrioritySignal
	workflow.GetSignalChannel(ctx, workflows.SignalPriority).Receive(ctx, &p)
	return p, nil
}

func ticketUpdatedEvent(t *testing.T, ticketID string, changes ...map[string]any) events.Event {
	t.Helper()
	e, err := events.New("/helpdesk", events.TicketUpdated, ticketID, map[string]any{
		"ticket":   map[string]any{"id": ticketID, "priority": "urgent", "updated_at": time.Now().UTC()},
		"changes":  changes,
		"actor_id": "agent-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The signaller passes a priority change on to the ticket's workflow, holds
// it while the ticket has no workflow yet, and leaves other changes alone.
func TestPrioritySignaller_SignalsPriorityChangesOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tc, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(), Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	handle := NewPrioritySignaller(tc, testenv.Logger(t))

	ticketID := uuid.NewString()
	stepOnly := ticketUpdatedEvent(t, ticketID, map[string]any{"field": "step", "old": "new", "new": "triage"})
	if err := handle(ctx, stepOnly); err != nil {
		t.Fatalf("a step change: %v, want it acknowledged without a workflow", err)
	}
	raised := ticketUpdatedEvent(t, ticketID,
		map[string]any{"field": "title", "old": "a", "new": "b"},
		map[string]any{"field": "priority", "old": "normal", "new": "urgent"})
	if err := handle(ctx, raised); !rabbitmq.IsUnavailable(err) {
		t.Fatalf("before the workflow: %v, want the event held", err)
	}
	bad := events.Event{SpecVersion: events.SpecVersion, ID: uuid.NewString(), Type: events.TicketUpdated, Data: []byte(`{"changes":[]}`)}
	if err := handle(ctx, bad); !rabbitmq.IsPermanent(err) {
		t.Fatalf("malformed data: %v, want a permanent failure", err)
	}

	taskQueue := testenv.Name("tq")
	w := worker.New(tc, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(priorityCatcher, workflow.RegisterOptions{Name: "priorityCatcher"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.TicketWorkflowID(ticketID), TaskQueue: taskQueue, WorkflowExecutionTimeout: time.Minute,
	}, "priorityCatcher")
	if err != nil {
		t.Fatal(err)
	}
	if err := handle(ctx, raised); err != nil {
		t.Fatalf("with the workflow running: %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var got workflows.PrioritySignal
	if err := run.Get(waitCtx, &got); err != nil {
		t.Fatalf("the workflow got no priority: %v", err)
	}
	if got.EventID != raised.ID || got.Priority != "urgent" || got.ActorID != "agent-1" || !got.At.Equal(raised.Time) {
		t.Errorf("signal %+v, want event %s, urgent by agent-1 at %s", got, raised.ID, raised.Time)
	}
}
