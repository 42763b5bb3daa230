package notification

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// delivery is a queued e-mail as the sender loop reads it.
type delivery struct {
	id             string
	notificationID string
	userID         string
	attempts       int
	message        Message
}

// maxDetail bounds the transport's answer kept in the delivery log.
const maxDetail = 2000

// insertDelivery queues the e-mail msg announcing n.
func insertDelivery(ctx context.Context, q postgres.Querier, id string, n Notification, msg Message) error {
	raw, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode e-mail of notification %s: %w", n.ID, err)
	}
	_, err = q.Exec(ctx, `
		INSERT INTO email_deliveries (id, notification_id, user_id, to_address, message) VALUES ($1, $2, $3, $4, $5)`,
		id, n.ID, n.userID, msg.To.Email, raw)
	if err != nil {
		return fmt.Errorf("queue e-mail of notification %s: %w", n.ID, err)
	}
	return nil
}

// nextDueDelivery locks the queued delivery due first, skipping those
// other senders hold; false when none is due.
func nextDueDelivery(ctx context.Context, tx pgx.Tx) (delivery, bool, error) {
	var (
		d   delivery
		raw []byte
	)
	err := tx.QueryRow(ctx, `
		SELECT id::text, coalesce(notification_id::text, ''), user_id::text, attempts, message FROM email_deliveries
		WHERE status = 'queued' AND next_attempt_at <= now()
		ORDER BY next_attempt_at
		LIMIT 1
		FOR UPDATE SKIP LOCKED`).Scan(&d.id, &d.notificationID, &d.userID, &d.attempts, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return delivery{}, false, nil
	}
	if err != nil {
		return delivery{}, false, fmt.Errorf("next e-mail to send: %w", err)
	}
	if err := json.Unmarshal(raw, &d.message); err != nil {
		return delivery{}, false, fmt.Errorf("decode e-mail %s: %w", d.id, err)
	}
	return d, true, nil
}

// recordAttempt writes attempt a in the delivery log and moves the
// delivery on: sent, failed, or queued again after a.retryIn.
func recordAttempt(ctx context.Context, tx pgx.Tx, id string, a attempt) error {
	status := map[string]string{outcomeSent: statusSent, outcomeRetry: statusQueued, outcomeFailed: statusFailed}[a.outcome]
	detail := truncate(a.detail, maxDetail)
	var lastError *string
	if a.outcome != outcomeSent {
		lastError = &detail
	}
	_, err := tx.Exec(ctx, `
		UPDATE email_deliveries SET
			status = $2, attempts = attempts + 1, last_error = $3,
			next_attempt_at = now() + make_interval(secs => $4),
			sent_at = CASE WHEN $2 = 'sent' THEN now() END
		WHERE id = $1`,
		id, status, lastError, a.retryIn.Seconds())
	if err != nil {
		return fmt.Errorf("record attempt on e-mail %s: %w", id, err)
	}
	if status != statusQueued {
		// A sensitive e-mail (a password reset link) keeps its secret no
		// longer than it takes to send it.
		if _, err := tx.Exec(ctx, `
			UPDATE email_deliveries SET message = message || jsonb_build_object('text', $2::text, 'html', '')
			WHERE id = $1 AND sensitive`, id, redactedText); err != nil {
			return fmt.Errorf("redact e-mail %s: %w", id, err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO email_attempts (delivery_id, outcome, detail) VALUES ($1, $2, $3)`, id, a.outcome, detail); err != nil {
		return fmt.Errorf("log attempt on e-mail %s: %w", id, err)
	}
	return nil
}
