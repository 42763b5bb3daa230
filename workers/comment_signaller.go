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
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/workflows"
)

// CommentQueue is the queue of the consumer that signals comments to
// ticket workflows.
const CommentQueue = "workflow.comments"

// commentCreated is what the signaller reads of comment.created's data.
type commentCreated struct {
	CommentID  string    `json:"comment_id"`
	TicketID   string    `json:"ticket_id"`
	AuthorID   string    `json:"author_id"`
	AuthorRole string    `json:"author_role"`
	Internal   bool      `json:"internal"`
	CreatedAt  time.Time `json:"created_at"`
}

// NewCommentSignaller returns the handler of comment.created: it signals the
// ticket's workflow, so the first public agent reply meets the
// first-response SLA and a requester's reply reopens a waiting ticket.
// Signalling from the event rather than from the messaging request keeps
// the signal durable while Temporal is down; the event ID travels with the
// signal, so a redelivery is counted once by the workflow.
func NewCommentSignaller(c client.Client, log *slog.Logger) rabbitmq.Handler {
	return func(ctx context.Context, e events.Event) error {
		var cm commentCreated
		if err := e.DecodeData(&cm); err != nil || cm.TicketID == "" || cm.AuthorID == "" {
			return rabbitmq.Permanent(fmt.Errorf("comment.created %s: malformed data: %v", e.ID, err))
		}
		err := c.SignalWorkflow(ctx, workflows.TicketWorkflowID(cm.TicketID), "", workflows.SignalComment, workflows.CommentSignal{
			EventID: e.ID, CommentID: cm.CommentID, AuthorID: cm.AuthorID, AuthorRole: cm.AuthorRole,
			Internal: cm.Internal, At: cm.CreatedAt,
		})
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return closedOrNotYet(ctx, c, cm.TicketID, log)
		}
		if err != nil {
			return temporalFailure(fmt.Errorf("signal comment to ticket %s: %w", cm.TicketID, err))
		}
		return nil
	}
}

// closedOrNotYet settles a comment whose ticket has no running workflow.
// Either the run has ended (the ticket is closed: nothing left to drive,
// and the event is done) or it has not started yet: the comment came
// before the ticket's ticket.created was processed, as when a requester
// adds details right after opening while the worker or Temporal is down.
// Messaging accepts comments only on tickets the helpdesk has, and every
// such ticket gets its workflow, so the event is held until it has one.
func closedOrNotYet(ctx context.Context, c client.Client, ticketID string, log *slog.Logger) error {
	_, err := c.DescribeWorkflowExecution(ctx, workflows.TicketWorkflowID(ticketID), "")
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		logging.FromContext(ctx, log).Info("event for a ticket whose workflow has ended", "ticket_id", ticketID)
		return nil
	case errors.As(err, &notFound):
		return rabbitmq.Unavailable(fmt.Errorf("ticket %s has no workflow yet: %w", ticketID, err))
	default:
		return temporalFailure(fmt.Errorf("describe the workflow of ticket %s: %w", ticketID, err))
	}
}
