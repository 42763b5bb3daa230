package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/outbox"
)

// CommentCreated is the data of comment.created (source EventSource,
// subject the ticket's ID). The workflow consumer in workers/ turns it
// into the ticket workflow's comment signal; the notification service
// tells the requester and the assignee, whom it names as they were when
// the comment was written.
type CommentCreated struct {
	CommentID string `json:"comment_id"`
	TicketID  string `json:"ticket_id"`
	AuthorID  string `json:"author_id"`
	// AuthorRole is the author's account role: employee, agent or admin.
	AuthorRole  authn.Role `json:"author_role"`
	Internal    bool       `json:"internal"`
	Body        string     `json:"body"`
	CreatedAt   time.Time  `json:"created_at"`
	RequesterID string     `json:"requester_id"`
	AssigneeID  *string    `json:"assignee_id"`
}

// publishCommentCreated writes comment.created for c to the outbox in tx,
// so the event exists if and only if the comment does.
func publishCommentCreated(ctx context.Context, tx pgx.Tx, c Comment, a Access) error {
	e, err := events.New(EventSource, events.CommentCreated, c.TicketID, CommentCreated{
		CommentID:   c.ID,
		TicketID:    c.TicketID,
		AuthorID:    c.AuthorID,
		AuthorRole:  c.AuthorRole,
		Internal:    c.Internal,
		Body:        c.Body,
		CreatedAt:   c.CreatedAt,
		RequesterID: a.RequesterID,
		AssigneeID:  a.AssigneeID,
	})
	if err != nil {
		return fmt.Errorf("comment.created for comment %s: %w", c.ID, err)
	}
	return outbox.Write(ctx, tx, e)
}
