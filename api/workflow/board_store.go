package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/workflows"
)

// TicketRow is a ticket as its workflow last recorded it for the board and
// the product's lists, which read PostgreSQL rather than Temporal
// visibility.
type TicketRow struct {
	TicketID    string `json:"ticket_id"`
	CategoryID  string `json:"category_id"`
	Title       string `json:"title"`
	Priority    string `json:"priority"`
	Step        string `json:"step"`
	Status      string `json:"status"`
	AssigneeID  string `json:"assignee_id"` // "" when unassigned
	RequesterID string `json:"requester_id"`
	TeamID      string `json:"team_id"` // "" when no team handles it
	SLABreached bool   `json:"sla_breached"`
	// FirstResponseDue and ResolutionDue are nil while the clock is
	// paused or once it is met.
	FirstResponseDue *time.Time `json:"first_response_due"`
	ResolutionDue    *time.Time `json:"resolution_due"`
	// UpdatedAt orders the records of a ticket: an older one never
	// overwrites a newer one.
	UpdatedAt time.Time `json:"updated_at"`
}

// BoardLimit caps the tickets Board returns.
const BoardLimit = 1000

const ticketColumns = `ticket_id::text, category_id::text, title, priority, step, status,
	coalesce(assignee_id::text, ''), coalesce(requester_id::text, ''), coalesce(team_id::text, ''),
	sla_breached, first_response_due, resolution_due, updated_at`

func scanTicketRow(row pgx.Row) (TicketRow, error) {
	var t TicketRow
	err := row.Scan(&t.TicketID, &t.CategoryID, &t.Title, &t.Priority, &t.Step, &t.Status,
		&t.AssigneeID, &t.RequesterID, &t.TeamID, &t.SLABreached, &t.FirstResponseDue, &t.ResolutionDue, &t.UpdatedAt)
	return t, err
}

var errNoTicket = apperr.New(apperr.NotFound, "no such ticket")

// UpsertTicket records the ticket's state for the board. A record older
// than the stored one (by UpdatedAt) is ignored, so activities retried or
// run out of order never move the board backwards. Ticket and category IDs
// are required; the other IDs may be empty.
func (s *Store) UpsertTicket(ctx context.Context, t TicketRow) error {
	if err := normalizeTicketRow(&t); err != nil {
		return err
	}
	return postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO board_tickets (ticket_id, category_id, title, priority, step, status, assignee_id,
				requester_id, team_id, sla_breached, first_response_due, resolution_due, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
			ON CONFLICT (ticket_id) DO UPDATE SET
				category_id = EXCLUDED.category_id, title = EXCLUDED.title, priority = EXCLUDED.priority,
				step = EXCLUDED.step, status = EXCLUDED.status, assignee_id = EXCLUDED.assignee_id,
				requester_id = EXCLUDED.requester_id, team_id = EXCLUDED.team_id,
				sla_breached = EXCLUDED.sla_breached, first_response_due = EXCLUDED.first_response_due,
				resolution_due = EXCLUDED.resolution_due, updated_at = EXCLUDED.updated_at
			WHERE board_tickets.updated_at <= EXCLUDED.updated_at`,
			t.TicketID, t.CategoryID, t.Title, t.Priority, t.Step, t.Status, nullID(t.AssigneeID),
			nullID(t.RequesterID), nullID(t.TeamID), t.SLABreached, t.FirstResponseDue, t.ResolutionDue, t.UpdatedAt)
		if err != nil {
			return fmt.Errorf("record ticket %s: %w", t.TicketID, err)
		}
		// A late first record still tells when the ticket opened.
		if _, err := tx.Exec(ctx, `UPDATE board_tickets SET created_at = $2 WHERE ticket_id = $1 AND created_at > $2`,
			t.TicketID, t.UpdatedAt); err != nil {
			return fmt.Errorf("record ticket %s: %w", t.TicketID, err)
		}
		return nil
	})
}

// normalizeTicketRow checks the IDs of t and makes them canonical.
func normalizeTicketRow(t *TicketRow) error {
	var problems []apperr.FieldError
	for _, f := range []struct {
		field    string
		id       *string
		required bool
	}{
		{"ticket_id", &t.TicketID, true},
		{"category_id", &t.CategoryID, true},
		{"assignee_id", &t.AssigneeID, false},
		{"requester_id", &t.RequesterID, false},
		{"team_id", &t.TeamID, false},
	} {
		if *f.id == "" && !f.required {
			continue
		}
		id, ok := canonicalID(*f.id)
		if !ok {
			problems = append(problems, apperr.FieldError{Field: f.field, Message: "must be a UUID"})
			continue
		}
		*f.id = id
	}
	if t.UpdatedAt.IsZero() {
		problems = append(problems, apperr.FieldError{Field: "updated_at", Message: "is required"})
	}
	if len(problems) > 0 {
		return apperr.WithFields(apperr.Invalid, "the ticket record is invalid", problems...)
	}
	return nil
}

// Board returns the tickets that are not closed, of one category or of
// all when categoryID is "": the most urgent priority first, then the
// oldest (opened first). At most BoardLimit tickets.
func (s *Store) Board(ctx context.Context, categoryID string) ([]TicketRow, error) {
	var filter any
	if categoryID != "" {
		id, ok := canonicalID(categoryID)
		if !ok {
			return nil, apperr.WithFields(apperr.Invalid, "invalid query",
				apperr.FieldError{Field: "category_id", Message: "must be a UUID"})
		}
		filter = id
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+ticketColumns+` FROM board_tickets
		WHERE status <> $1 AND ($2::uuid IS NULL OR category_id = $2)
		ORDER BY CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
			created_at, ticket_id
		LIMIT $3`, workflows.StatusClosed, filter, BoardLimit)
	if err != nil {
		return nil, fmt.Errorf("read board: %w", err)
	}
	tickets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TicketRow, error) { return scanTicketRow(r) })
	if err != nil {
		return nil, fmt.Errorf("read board: %w", err)
	}
	return tickets, nil
}

// Ticket returns the board's record of a ticket (NotFound when there is
// none).
func (s *Store) Ticket(ctx context.Context, ticketID string) (TicketRow, error) {
	id, ok := canonicalID(ticketID)
	if !ok {
		return TicketRow{}, errNoTicket
	}
	t, err := scanTicketRow(s.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM board_tickets WHERE ticket_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return TicketRow{}, errNoTicket
	}
	if err != nil {
		return TicketRow{}, fmt.Errorf("read ticket %s: %w", id, err)
	}
	return t, nil
}
