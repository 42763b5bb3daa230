package messaging

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// commentColumns are a comment's columns, read from "c" (the comments
// table or rows returned from it) joined to the user directory as "u".
const commentColumns = `c.id, c.ticket_id, c.author_id, coalesce(u.name, ''), c.author_role, c.body,
	c.internal, c.created_at, c.edited_at, c.deleted_at IS NOT NULL`

const commentJoin = ` LEFT JOIN users u ON u.id = c.author_id`

func scanComment(row pgx.Row) (Comment, error) {
	var c Comment
	err := row.Scan(&c.ID, &c.TicketID, &c.AuthorID, &c.AuthorName, &c.AuthorRole, &c.Body,
		&c.Internal, &c.CreatedAt, &c.EditedAt, &c.Deleted)
	return c, err
}

// insertComment stores a new comment and returns it as stored, with its
// author's name when the directory knows it.
func insertComment(ctx context.Context, q postgres.Querier, c Comment) (Comment, error) {
	stored, err := scanComment(q.QueryRow(ctx, `
		WITH c AS (
			INSERT INTO comments (id, ticket_id, author_id, author_role, body, internal)
			VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING *
		)
		SELECT `+commentColumns+` FROM c`+commentJoin,
		c.ID, c.TicketID, c.AuthorID, c.AuthorRole, c.Body, c.Internal))
	if err != nil {
		return Comment{}, fmt.Errorf("insert comment on ticket %s: %w", c.TicketID, err)
	}
	return stored, nil
}

// commentByID reads one comment, locking its row when forUpdate.
func commentByID(ctx context.Context, q postgres.Querier, id string, forUpdate bool) (Comment, error) {
	sql := `SELECT ` + commentColumns + ` FROM comments c` + commentJoin + ` WHERE c.id = $1`
	if forUpdate {
		sql += ` FOR UPDATE OF c`
	}
	c, err := scanComment(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Comment{}, errNoComment
	}
	if err != nil {
		return Comment{}, fmt.Errorf("read comment %s: %w", id, err)
	}
	return c, nil
}

// listComments returns up to limit comments of a ticket after position
// after, oldest first; internal notes only when withInternal.
func listComments(ctx context.Context, q postgres.Querier, ticketID string, withInternal bool, after *Position, limit int) ([]Comment, error) {
	args := []any{ticketID, withInternal, limit}
	where := `c.ticket_id = $1 AND (NOT c.internal OR $2)`
	if after != nil {
		args = append(args, after.At, after.ID)
		where += ` AND (c.created_at, c.id) > ($4, $5::uuid)`
	}
	rows, err := q.Query(ctx, `SELECT `+commentColumns+` FROM comments c`+commentJoin+`
		WHERE `+where+` ORDER BY c.created_at, c.id LIMIT $3`, args...)
	if err != nil {
		return nil, fmt.Errorf("list comments of ticket %s: %w", ticketID, err)
	}
	comments, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Comment, error) { return scanComment(r) })
	if err != nil {
		return nil, fmt.Errorf("list comments of ticket %s: %w", ticketID, err)
	}
	return comments, nil
}

// insertRevision keeps the text c has before an edit or its deletion.
func insertRevision(ctx context.Context, q postgres.Querier, c Comment, kind, by string) error {
	_, err := q.Exec(ctx, `INSERT INTO comment_revisions (comment_id, kind, body, revised_by) VALUES ($1, $2, $3, $4)`,
		c.ID, kind, c.Body, by)
	if err != nil {
		return fmt.Errorf("keep revision of comment %s: %w", c.ID, err)
	}
	return nil
}

// updateCommentBody sets a comment's body and marks it edited, or deleted.
func updateCommentBody(ctx context.Context, q postgres.Querier, id, body string, deleted bool) (Comment, error) {
	c, err := scanComment(q.QueryRow(ctx, `
		WITH c AS (
			UPDATE comments SET body = $2,
				edited_at = CASE WHEN $3 THEN edited_at ELSE now() END,
				deleted_at = CASE WHEN $3 THEN now() ELSE deleted_at END
			WHERE id = $1
			RETURNING *
		)
		SELECT `+commentColumns+` FROM c`+commentJoin, id, body, deleted))
	if err != nil {
		return Comment{}, fmt.Errorf("update comment %s: %w", id, err)
	}
	return c, nil
}
