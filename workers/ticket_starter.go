package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/workflows"
)

// StarterQueue is the queue of the consumer that starts ticket workflows.
const StarterQueue = "workflow.ticket-created"

// createdTicket is what the starter reads of ticket.created's data.
type createdTicket struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	CategoryID  string    `json:"category_id"`
	Priority    string    `json:"priority"`
	RequesterID string    `json:"requester_id"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewTicketStarter returns the handler of ticket.created: it starts the
// ticket's workflow with ID ticket-<id>. A redelivered or duplicated event
// finds the run already there (running, or closed: a ticket's workflow never
// runs twice) and is acknowledged without a second start; the message is
// acknowledged only once Temporal accepted the start.
func NewTicketStarter(c client.Client, taskQueue string, log *slog.Logger) rabbitmq.Handler {
	return func(ctx context.Context, e events.Event) error {
		var t createdTicket
		if err := e.DecodeData(&t); err != nil || t.ID == "" || t.CategoryID == "" || t.RequesterID == "" {
			return rabbitmq.Permanent(fmt.Errorf("ticket.created %s: malformed data: %v", e.ID, err))
		}
		opts := client.StartWorkflowOptions{
			ID:                       workflows.TicketWorkflowID(t.ID),
			TaskQueue:                taskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			EnableEagerStart:         true,
		}
		in := workflows.TicketInput{
			TicketID: t.ID, Title: t.Title, CategoryID: t.CategoryID,
			Priority: t.Priority, RequesterID: t.RequesterID, CreatedAt: t.CreatedAt,
		}
		run, err := c.ExecuteWorkflow(ctx, opts, workflows.TicketWorkflow, in)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		switch {
		case errors.As(err, &started):
			logging.FromContext(ctx, log).Info("ticket workflow already ran", "ticket_id", t.ID)
			return nil
		case err != nil:
			return temporalFailure(fmt.Errorf("start workflow of ticket %s: %w", t.ID, err))
		}
		logging.FromContext(ctx, log).Info("ticket workflow started", "ticket_id", t.ID, "run_id", run.GetRunID())
		return nil
	}
}
