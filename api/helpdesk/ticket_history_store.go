package helpdesk

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// insertHistory records changes to a ticket, in their order, in one
// statement.
func insertHistory(ctx context.Context, q postgres.Querier, ticketID string, changes []Change, actorID, reason string) error {
	fields := make([]string, len(changes))
	olds := make([]*string, len(changes))
	news := make([]*string, len(changes))
	for i, c := range changes {
		fields[i], olds[i], news[i] = c.Field, c.Old, c.New
	}
	// actor_user_id lets the history show a user's name; a service's
	// client ID is no user.
	var actorUser *string
	if uuid.Validate(actorID) == nil {
		actorUser = &actorID
	}
	_, err := q.Exec(ctx, `
		INSERT INTO ticket_history (ticket_id, field, old_value, new_value, actor_id, actor_user_id, reason)
		SELECT $1, c.field, c.old_value, c.new_value, $5, $6, $7
		FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS c (field, old_value, new_value, n)
		ORDER BY c.n`,
		ticketID, fields, olds, news, actorID, actorUser, reason)
	if err != nil {
		return fmt.Errorf("record history of ticket %s: %w", ticketID, err)
	}
	return nil
}

// ticketHistory returns a ticket's history, oldest first.
func ticketHistory(ctx context.Context, q postgres.Querier, ticketID string) ([]HistoryEntry, error) {
	rows, err := q.Query(ctx, `
		SELECT h.field, h.old_value, h.new_value, h.actor_id, coalesce(u.name, ''), h.reason, h.at
		FROM ticket_history h LEFT JOIN users u ON u.id = h.actor_user_id
		WHERE h.ticket_id = $1
		ORDER BY h.id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("read history of ticket %s: %w", ticketID, err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryEntry, error) {
		var e HistoryEntry
		err := r.Scan(&e.Field, &e.Old, &e.New, &e.ActorID, &e.ActorName, &e.Reason, &e.At)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read history of ticket %s: %w", ticketID, err)
	}
	return entries, nil
}
