package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/workflows"
)

// PriorityQueue is the queue of the consumer that tells ticket workflows
// of the priority changes the helpdesk announces in ticket.updated.
const PriorityQueue = "workflow.ticket-priority"

// ticketUpdated is what the signaller reads of ticket.updated's data (see
// helpdesk.TicketUpdated).
type ticketUpdated struct {
	Ticket struct {
		ID        string    `json:"id"`
		UpdatedAt time.Time `json:"updated_at"`
	} `json:"ticket"`
	Changes []struct {
		Field string  `json:"field"`
		Old   *string `json:"old"`
		New   *string `json:"new"`
	} `json:"changes"`
	ActorID string `json:"actor_id"`
}

// priorityField is the name ticket.updated gives a priority change
// (helpdesk.FieldPriority).
const priorityField = "priority"

// NewPrioritySignaller returns the handler of ticket.updated: when the
// event changed the ticket's priority, it signals the ticket's workflow,
// which re-plans its SLA clocks under the new priority's policy. Any other
// change is acknowledged untouched. As with comments, the event ID travels
// with the signal, so a redelivery is applied once; the event is held
// while the ticket has no workflow yet or Temporal cannot be reached. The
// helpdesk also announces the priority raised by an escalation, which the
// workflow then already has: that signal does nothing.
func NewPrioritySignaller(c client.Client, log *slog.Logger) rabbitmq.Handler {
	return func(ctx context.Context, e events.Event) error {
		var u ticketUpdated
		if err := e.DecodeData(&u); err != nil || u.Ticket.ID == "" {
			return rabbitmq.Permanent(fmt.Errorf("ticket.updated %s: malformed data: %v", e.ID, err))
		}
		var priority string
		for _, ch := range u.Changes {
			if ch.Field == priorityField && ch.New != nil {
				priority = *ch.New
			}
		}
		if priority == "" {
			return nil
		}
		// The event's time is taken once the ticket's row is locked, so it
		// follows the order of the changes (updated_at is the start of the
		// transaction, which may precede an earlier change's commit).
		at := e.Time
		if at.IsZero() {
			at = u.Ticket.UpdatedAt
		}
		err := c.SignalWorkflow(ctx, workflows.TicketWorkflowID(u.Ticket.ID), "", workflows.SignalPriority, workflows.PrioritySignal{
			EventID: e.ID, Priority: priority, ActorID: u.ActorID, At: at,
		})
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return closedOrNotYet(ctx, c, u.Ticket.ID, log)
		}
		if err != nil {
			return temporalFailure(fmt.Errorf("signal priority to ticket %s: %w", u.Ticket.ID, err))
		}
		return nil
	}
}
