package messaging

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// upsertUser stores u as of the event e, unless the directory already holds
// data from an event at least as new.
func upsertUser(ctx context.Context, q postgres.Querier, u directoryUser, e events.Event) error {
	_, err := q.Exec(ctx, `
		INSERT INTO users (id, name, role, active, event_time) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
			active = excluded.active, event_time = excluded.event_time, updated_at = now()
		WHERE users.event_time < excluded.event_time`,
		u.ID, u.Name, u.Role, u.Active, e.Time)
	if err != nil {
		return fmt.Errorf("store user %s from event %s: %w", u.ID, e.ID, err)
	}
	return nil
}

// userName returns a user's name, or "" when the directory does not know them.
func userName(ctx context.Context, q postgres.Querier, id string) (string, error) {
	var name string
	err := q.QueryRow(ctx, `SELECT name FROM users WHERE id = $1`, id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read name of user %s: %w", id, err)
	}
	return name, nil
}
