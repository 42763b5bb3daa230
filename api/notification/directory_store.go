package notification

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// upsertUser stores u as of the event time at, unless the directory holds
// data from a newer event.
func upsertUser(ctx context.Context, q postgres.Querier, u userData, at time.Time) error {
	_, err := q.Exec(ctx, `
		INSERT INTO users (id, email, name, role, active, event_time) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, role = excluded.role,
			active = excluded.active, event_time = excluded.event_time, updated_at = now()
		WHERE users.event_time <= excluded.event_time`,
		u.ID, u.Email, u.Name, u.Role, u.Active, at)
	if err != nil {
		return fmt.Errorf("store user %s: %w", u.ID, err)
	}
	return nil
}

// upsertTicket stores what an event of time at tells of a ticket, unless
// the directory holds data from a newer event. A status the event does not
// tell keeps the one stored. Of two events with the same time (one
// workflow step publishes several), the later to arrive wins.
func upsertTicket(ctx context.Context, q postgres.Querier, t ticketFacts, at time.Time) error {
	_, err := q.Exec(ctx, `
		INSERT INTO tickets (id, title, requester_id, assignee_id, status, event_time) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET title = excluded.title,
			requester_id = coalesce(excluded.requester_id, tickets.requester_id),
			assignee_id = excluded.assignee_id, status = coalesce(excluded.status, tickets.status),
			event_time = excluded.event_time, updated_at = now()
		WHERE tickets.event_time <= excluded.event_time`,
		t.ID, t.Title, nullable(t.RequesterID), nullable(t.AssigneeID), nullable(t.Status), at)
	if err != nil {
		return fmt.Errorf("store ticket %s: %w", t.ID, err)
	}
	return nil
}

// userByID returns a user of the directory and whether there is one.
func userByID(ctx context.Context, q postgres.Querier, id string) (userData, bool, error) {
	u := userData{ID: id}
	err := q.QueryRow(ctx, `SELECT email, name, role, active FROM users WHERE id = $1`, id).
		Scan(&u.Email, &u.Name, &u.Role, &u.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return userData{}, false, nil
	}
	if err != nil {
		return userData{}, false, fmt.Errorf("look up user %s: %w", id, err)
	}
	return u, true, nil
}

// activeAdmins returns the IDs of the active admins.
func activeAdmins(ctx context.Context, q postgres.Querier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT id::text FROM users WHERE role = 'admin' AND active ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	return ids, nil
}

// ticketTitle returns a ticket's title from the directory, "" when the
// ticket is unknown.
func ticketTitle(ctx context.Context, q postgres.Querier, id string) (string, error) {
	var title string
	err := q.QueryRow(ctx, `SELECT title FROM tickets WHERE id = $1`, id).Scan(&title)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up ticket %s: %w", id, err)
	}
	return title, nil
}

// nullable is s, or NULL when s is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
