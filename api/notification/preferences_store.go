package notification

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// emailPreferences returns the e-mail settings a user made.
func emailPreferences(ctx context.Context, q postgres.Querier, userID string) (map[Kind]bool, error) {
	rows, err := q.Query(ctx, `SELECT kind, enabled FROM email_preferences WHERE user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("e-mail preferences of user %s: %w", userID, err)
	}
	defer rows.Close()
	set := map[Kind]bool{}
	for rows.Next() {
		var (
			kind Kind
			on   bool
		)
		if err := rows.Scan(&kind, &on); err != nil {
			return nil, fmt.Errorf("e-mail preferences of user %s: %w", userID, err)
		}
		set[kind] = on
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("e-mail preferences of user %s: %w", userID, err)
	}
	return set, nil
}

// setEmailPreferences stores the given settings of a user.
func setEmailPreferences(ctx context.Context, q postgres.Querier, userID string, set map[Kind]bool) error {
	for kind, on := range set {
		_, err := q.Exec(ctx, `
			INSERT INTO email_preferences (user_id, kind, enabled) VALUES ($1, $2, $3)
			ON CONFLICT (user_id, kind) DO UPDATE SET enabled = excluded.enabled, updated_at = now()`,
			userID, kind, on)
		if err != nil {
			return fmt.Errorf("set e-mail preference %s of user %s: %w", kind, userID, err)
		}
	}
	return nil
}

// emailEnabled reports whether a user wants e-mail of a kind: yes unless
// they turned it off.
func emailEnabled(ctx context.Context, q postgres.Querier, userID string, kind Kind) (bool, error) {
	var on bool
	err := q.QueryRow(ctx, `SELECT enabled FROM email_preferences WHERE user_id = $1 AND kind = $2`, userID, kind).Scan(&on)
	if errors.Is(err, pgx.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("e-mail preference %s of user %s: %w", kind, userID, err)
	}
	return on, nil
}
