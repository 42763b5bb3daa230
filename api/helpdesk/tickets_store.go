package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// ticketColumns are the columns of a ticket, read from "t" (the tickets
// table or a set of its rows) joined to the user directory for names.
const ticketColumns = `t.id, t.title, t.description, t.status, t.priority, t.category_id, t.requester_id,
	t.assignee_id, t.step, t.created_at, t.updated_at, coalesce(r.name, ''), coalesce(a.name, '')`

// ticketJoins adds the requester's and assignee's names, when the user
// directory knows them.
const ticketJoins = ` LEFT JOIN users r ON r.id = t.requester_id LEFT JOIN users a ON a.id = t.assignee_id`

func scanTicket(row pgx.Row) (Ticket, error) {
	var t Ticket
	err := row.Scan(&t.ID, &t.Title, &t.Description, &t.Status, &t.Priority, &t.CategoryID, &t.RequesterID,
		&t.AssigneeID, &t.Step, &t.CreatedAt, &t.UpdatedAt, &t.RequesterName, &t.AssigneeName)
	return t, err
}

// ticketByID reads one ticket, locking its row when forUpdate.
func ticketByID(ctx context.Context, q postgres.Querier, id string, forUpdate bool) (Ticket, error) {
	sql := `SELECT ` + ticketColumns + ` FROM tickets t` + ticketJoins + ` WHERE t.id = $1`
	if forUpdate {
		sql += ` FOR UPDATE OF t`
	}
	t, err := scanTicket(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Ticket{}, errNoTicket
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("read ticket %s: %w", id, err)
	}
	return t, nil
}

// insertTicket stores a new ticket and its first history entry in one
// statement, one round trip on the hot path. The category is checked in
// the same statement: no row comes back when it is unknown or inactive.
func insertTicket(ctx context.Context, q postgres.Querier, id, requesterID string, in NewTicket) (Ticket, error) {
	t, err := scanTicket(q.QueryRow(ctx, `
		WITH t AS (
			INSERT INTO tickets (id, title, description, status, priority, category_id, requester_id, step)
			SELECT $1::uuid, $2::text, $3::text, $4::text, $5::text, c.id, $7::uuid, $8::text
			FROM categories c WHERE c.id = $6 AND c.active
			RETURNING *
		), created AS (
			INSERT INTO ticket_history (ticket_id, field, old_value, new_value, actor_id, actor_user_id, at)
			SELECT id, $9::text, NULL, 'created', requester_id::text, requester_id, created_at FROM t
		)
		SELECT `+ticketColumns+` FROM t`+ticketJoins,
		id, in.Title, in.Description, StatusNew, in.Priority, in.CategoryID, requesterID, StepNew, FieldTicket))
	if errors.Is(err, pgx.ErrNoRows) {
		return Ticket{}, errBadCategory
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("insert ticket: %w", err)
	}
	return t, nil
}

// updateTicket writes every changeable field of t and bumps updated_at.
func updateTicket(ctx context.Context, q postgres.Querier, t Ticket) (Ticket, error) {
	t, err := scanTicket(q.QueryRow(ctx, `
		WITH t AS (
			UPDATE tickets SET title = $2, description = $3, priority = $4, category_id = $5,
				step = $6, status = $7, assignee_id = $8, updated_at = now()
			WHERE id = $1
			RETURNING *
		)
		SELECT `+ticketColumns+` FROM t`+ticketJoins,
		t.ID, t.Title, t.Description, t.Priority, t.CategoryID, t.Step, t.Status, t.AssigneeID))
	if err != nil {
		return Ticket{}, fmt.Errorf("update ticket %s: %w", t.ID, err)
	}
	return t, nil
}

// keys are the columns the sort orders by, descending; each list ends in
// id, so the order is total and keyset pages neither skip nor repeat. Each
// has an index of the same columns (see the migration).
func (s TicketSort) keys() []string {
	switch s {
	case SortUpdated:
		return []string{"updated_at", "id"}
	case SortPriority:
		return []string{"priority_rank", "created_at", "id"}
	default:
		return []string{"created_at", "id"}
	}
}

// listTickets returns the tickets matching f, at most f.Limit, in f.Sort
// order after f.After. requesterOnly, when not empty, limits them to that
// requester's: an employee's view.
func listTickets(ctx context.Context, q postgres.Querier, f TicketFilter, requesterOnly string) ([]Ticket, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if requesterOnly != "" {
		where = append(where, "requester_id = "+arg(requesterOnly)+"::uuid")
	}
	where = append(where, f.conditions(arg)...)
	keys := f.Sort.keys()
	if f.After != nil {
		where = append(where, fmt.Sprintf("(%s) < (%s)", strings.Join(keys, ", "), f.After.values(arg)))
	}
	order := strings.Join(keys, " DESC, ") + " DESC"
	sql := `SELECT id, title, description, status, priority, category_id, requester_id, assignee_id, step,
		created_at, updated_at, priority_rank FROM tickets`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, " AND ")
	}
	sql += ` ORDER BY ` + order + ` LIMIT ` + arg(f.Limit)
	// The page is cut first and only its rows are joined to the directory,
	// so the planner can read the page straight off the sort's index.
	sql = `SELECT ` + ticketColumns + ` FROM (` + sql + `) t` + ticketJoins + ` ORDER BY ` + "t." + strings.Join(keys, " DESC, t.") + " DESC"
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	tickets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ticket, error) { return scanTicket(r) })
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	return tickets, nil
}

// conditions returns f's filters as SQL conditions, their values added as
// arguments by arg.
func (f TicketFilter) conditions(arg func(any) string) []string {
	var where []string
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if f.Priority != "" {
		where = append(where, "priority = "+arg(f.Priority))
	}
	if f.CategoryID != "" {
		where = append(where, "category_id = "+arg(f.CategoryID)+"::uuid")
	}
	switch f.AssigneeID {
	case "":
	case AssigneeNone:
		where = append(where, "assignee_id IS NULL")
	default:
		where = append(where, "assignee_id = "+arg(f.AssigneeID)+"::uuid")
	}
	if f.RequesterID != "" {
		where = append(where, "requester_id = "+arg(f.RequesterID)+"::uuid")
	}
	if !f.CreatedAfter.IsZero() {
		where = append(where, "created_at >= "+arg(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		where = append(where, "created_at < "+arg(f.CreatedBefore))
	}
	if f.Query != "" {
		// websearch_to_tsquery accepts any text (quotes, "or", "-word")
		// without syntax errors; the query is a bound value, never SQL.
		where = append(where, "search @@ websearch_to_tsquery('simple', "+arg(f.Query)+")")
	}
	return where
}

// values returns the position's sort key as SQL arguments, in the order
// of p.Sort.keys().
func (p TicketPosition) values(arg func(any) string) string {
	at, id := arg(p.At)+"::timestamptz", arg(p.ID)+"::uuid"
	if p.Sort == SortPriority {
		return arg(p.Rank) + "::smallint, " + at + ", " + id
	}
	return at + ", " + id
}
