package messaging

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// upsertUser stores u as of the event e, unless the directory already holds
// data from an event at least as new. It reports whether it stored u.
func upsertUser(ctx context.Context, q postgres.Querier, u directoryUser, e events.Event) (bool, error) {
	tag, err := q.Exec(ctx, `
		INSERT INTO users (id, name, role, active, event_time) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
			active = excluded.active, event_time = excluded.event_time, updated_at = now()
		WHERE users.event_time < excluded.event_time`,
		u.ID, u.Name, u.Role, u.Active, e.Time)
	if err != nil {
		return false, fmt.Errorf("store user %s from event %s: %w", u.ID, e.ID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// lookupUser returns what the directory holds of a user, and false when it
// does not know them. forUpdate locks the row until the transaction ends.
func lookupUser(ctx context.Context, q postgres.Querier, id string, forUpdate bool) (directoryUser, bool, error) {
	sql := `SELECT id, name, role, active FROM users WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var u directoryUser
	var role string
	err := q.QueryRow(ctx, sql, id).Scan(&u.ID, &u.Name, &role, &u.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return directoryUser{}, false, nil
	}
	if err != nil {
		return directoryUser{}, false, fmt.Errorf("read user %s: %w", id, err)
	}
	u.Role = authn.Role(role)
	return u, true, nil
}
