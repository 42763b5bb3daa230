package helpdesk

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// claimChange records that the state change changeID is applied to the
// ticket ticketID and reports whether it had been before. It is called with
// the ticket's row locked, so retries of one change serialize there. A
// change ID already used for another ticket is a Conflict: a caller's bug
// that applying the change would hide.
func claimChange(ctx context.Context, q postgres.Querier, changeID, ticketID string) (applied bool, err error) {
	tag, err := q.Exec(ctx, `
		INSERT INTO applied_changes (change_id, ticket_id) VALUES ($1, $2)
		ON CONFLICT (change_id) DO NOTHING`, changeID, ticketID)
	if err != nil {
		return false, fmt.Errorf("claim state change %q: %w", changeID, err)
	}
	if tag.RowsAffected() == 1 {
		return false, nil
	}
	var owner string
	if err := q.QueryRow(ctx, `SELECT ticket_id FROM applied_changes WHERE change_id = $1`, changeID).Scan(&owner); err != nil {
		return false, fmt.Errorf("read state change %q: %w", changeID, err)
	}
	if owner != ticketID {
		return false, apperr.WithFields(apperr.Conflict, "the change_id was already used for another ticket",
			apperr.FieldError{Field: "change_id", Message: "must be unique to one change"})
	}
	return true, nil
}

// ticketAccess reads who a ticket's requester and assignee are.
func ticketAccess(ctx context.Context, q postgres.Querier, id string) (Access, error) {
	a := Access{TicketID: id}
	err := q.QueryRow(ctx, `SELECT requester_id, assignee_id FROM tickets WHERE id = $1`, id).Scan(&a.RequesterID, &a.AssigneeID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Access{}, errNoTicket
	}
	if err != nil {
		return Access{}, fmt.Errorf("read access to ticket %s: %w", id, err)
	}
	return a, nil
}
