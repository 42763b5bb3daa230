package messaging

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

const attachmentColumns = `id, ticket_id, uploader_id, file_name, size, content_type, sha256, created_at`

func scanAttachment(row pgx.Row) (Attachment, error) {
	var a Attachment
	err := row.Scan(&a.ID, &a.TicketID, &a.UploaderID, &a.FileName, &a.Size, &a.ContentType, &a.SHA256, &a.CreatedAt)
	return a, err
}

// insertAttachment stores an attachment's metadata and returns it as stored.
func insertAttachment(ctx context.Context, q postgres.Querier, a Attachment) (Attachment, error) {
	stored, err := scanAttachment(q.QueryRow(ctx, `
		INSERT INTO attachments (id, ticket_id, uploader_id, file_name, size, content_type, sha256)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING `+attachmentColumns,
		a.ID, a.TicketID, a.UploaderID, a.FileName, a.Size, a.ContentType, a.SHA256))
	if err != nil {
		return Attachment{}, fmt.Errorf("insert attachment on ticket %s: %w", a.TicketID, err)
	}
	return stored, nil
}

// attachmentByID reads one attachment's metadata.
func attachmentByID(ctx context.Context, q postgres.Querier, id string) (Attachment, error) {
	a, err := scanAttachment(q.QueryRow(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Attachment{}, errNoAttachment
	}
	if err != nil {
		return Attachment{}, fmt.Errorf("read attachment %s: %w", id, err)
	}
	return a, nil
}

// listAttachments returns up to limit attachments of a ticket after
// position after, oldest first.
func listAttachments(ctx context.Context, q postgres.Querier, ticketID string, after *Position, limit int) ([]Attachment, error) {
	args := []any{ticketID, limit}
	where := `ticket_id = $1`
	if after != nil {
		args = append(args, after.At, after.ID)
		where += ` AND (created_at, id) > ($3, $4::uuid)`
	}
	rows, err := q.Query(ctx, `SELECT `+attachmentColumns+` FROM attachments
		WHERE `+where+` ORDER BY created_at, id LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("list attachments of ticket %s: %w", ticketID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attachment, error) { return scanAttachment(r) })
	if err != nil {
		return nil, fmt.Errorf("list attachments of ticket %s: %w", ticketID, err)
	}
	return list, nil
}
