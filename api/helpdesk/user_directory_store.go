package helpdesk

import (
	"context"
	"fmt"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// upsertUser stores u as of the event e, unless the directory already holds
// data from an event at least as new; it reports whether it wrote.
func upsertUser(ctx context.Context, q postgres.Querier, u directoryUser, e events.Event) (bool, error) {
	tag, err := q.Exec(ctx, `
		INSERT INTO users (id, email, name, role, active, event_time) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, role = excluded.role,
			active = excluded.active, event_time = excluded.event_time, updated_at = now()
		WHERE users.event_time < excluded.event_time`,
		u.ID, u.Email, u.Name, u.Role, u.Active, e.Time)
	if err != nil {
		return false, fmt.Errorf("store user %s from event %s: %w", u.ID, e.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}
