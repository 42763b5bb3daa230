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
			// The ticket's run has ended (closed): nothing left to drive.
			logging.FromContext(ctx, log).Info("comment on a ticket without a running workflow", "ticket_id", cm.TicketID)
			return nil
		}
		if err != nil {
			return fmt.Errorf("signal comment to ticket %s: %w", cm.TicketID, err)
		}
		return nil
	}
}
