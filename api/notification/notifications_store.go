package notification

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// notificationColumns are the columns scanNotification reads, in order.
const notificationColumns = `id::text, kind, coalesce(ticket_id::text, ''), title, body, link, created_at, read_at, user_id::text`

func scanNotification(row pgx.Row) (Notification, error) {
	var n Notification
	err := row.Scan(&n.ID, &n.Kind, &n.TicketID, &n.Title, &n.Body, &n.Link, &n.CreatedAt, &n.ReadAt, &n.userID)
	return n, err
}

// insertNotification stores n for n.userID as caused by the event eventID,
// and sets n.CreatedAt.
func insertNotification(ctx context.Context, q postgres.Querier, eventID string, n *Notification) error {
	err := q.QueryRow(ctx, `
		INSERT INTO notifications (id, user_id, event_id, kind, ticket_id, title, body, link)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING created_at`,
		n.ID, n.userID, eventID, n.Kind, nullable(n.TicketID), n.Title, n.Body, n.Link).Scan(&n.CreatedAt)
	if err != nil {
		return fmt.Errorf("store notification for user %s: %w", n.userID, err)
	}
	return nil
}

// listNotifications returns up to limit of a user's notifications, newest
// first, after the position after.
func listNotifications(ctx context.Context, q postgres.Querier, userID string, unreadOnly bool, after *Position, limit int) ([]Notification, error) {
	sql := `SELECT ` + notificationColumns + ` FROM notifications WHERE user_id = $1`
	args := []any{userID}
	if unreadOnly {
		sql += ` AND read_at IS NULL`
	}
	if after != nil {
		sql += ` AND (created_at, id) < ($2, $3)`
		args = append(args, after.At, after.ID)
	}
	sql += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, limit)
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications of user %s: %w", userID, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) { return scanNotification(r) })
	if err != nil {
		return nil, fmt.Errorf("list notifications of user %s: %w", userID, err)
	}
	if items == nil {
		items = []Notification{}
	}
	return items, nil
}

// unreadCount counts a user's unread notifications.
func unreadCount(ctx context.Context, q postgres.Querier, userID string) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count unread notifications of user %s: %w", userID, err)
	}
	return n, nil
}

// markRead marks a user's notification read, keeping an earlier read
// time, and returns it; false when the user has no such notification.
func markRead(ctx context.Context, q postgres.Querier, userID, id string) (Notification, bool, error) {
	n, err := scanNotification(q.QueryRow(ctx, `
		UPDATE notifications SET read_at = coalesce(read_at, now())
		WHERE id = $1 AND user_id = $2
		RETURNING `+notificationColumns, id, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Notification{}, false, nil
	}
	if err != nil {
		return Notification{}, false, fmt.Errorf("mark notification %s read: %w", id, err)
	}
	return n, true, nil
}

// markAllRead marks every unread notification of a user read.
func markAllRead(ctx context.Context, q postgres.Querier, userID string) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`, userID)
	if err != nil {
		return 0, fmt.Errorf("mark notifications of user %s read: %w", userID, err)
	}
	return tag.RowsAffected(), nil
}
