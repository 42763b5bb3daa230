package notification

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Auth's user events and the other services' events reach the consumer
// apart, so the workflow's ticket.assigned may come before the assignee's
// user.created. Such a recipient is told in the app at once (the event
// names them), and their e-mail, rendered then, is held without an address
// until a user event brings one: it is queued then, dropped if they turned
// that kind of e-mail off, or recorded as failed (given up) if it waited
// longer than holdEmailFor, when the news is stale.

// statusHeld is the status of a delivery waiting for its recipient's
// address.
const statusHeld = "held"

// holdEmailFor is how long a held e-mail may wait for its recipient's
// address before it is given up.
const holdEmailFor = 24 * time.Hour

// The reasons a held e-mail is given up, as the delivery log records them.
const (
	heldTooLong    = "gave up: the recipient's e-mail address was not known within 24h"
	heldInactive   = "gave up: the recipient's account is deactivated"
	staleHeldSweep = time.Minute // how often the sender loop gives up stale held e-mails
)

// lockUser takes a transaction lock on a user of the directory. A user
// event takes it before writing the user and releasing their held e-mails;
// give takes it before holding an e-mail for an unknown user and looks the
// user up again under it. So whichever of the two commits first, the other
// sees it: no e-mail is held after its release went by.
func lockUser(ctx context.Context, tx pgx.Tx, userID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('notification.user:' || $1, 0))`, userID); err != nil {
		return fmt.Errorf("lock user %s: %w", userID, err)
	}
	return nil
}

// recipientByID returns a user of the directory and whether there is one;
// an unknown user is looked up again under their lock (see lockUser).
func recipientByID(ctx context.Context, tx pgx.Tx, id string) (userData, bool, error) {
	u, known, err := userByID(ctx, tx, id)
	if err != nil || known {
		return u, known, err
	}
	if err := lockUser(ctx, tx, id); err != nil {
		return userData{}, false, err
	}
	return userByID(ctx, tx, id)
}

// holdEmail renders the e-mail announcing note to its recipient, whom the
// directory does not know yet (so it greets nobody by name), and stores it
// held, unless they turned that kind of e-mail off.
func (s *Service) holdEmail(ctx context.Context, tx pgx.Tx, note Notification) error {
	on, err := emailEnabled(ctx, tx, note.userID, note.Kind)
	if err != nil || !on {
		return err
	}
	msg, err := s.composeEmail(note, userData{ID: note.userID})
	if err != nil {
		return err
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode e-mail of notification %s: %w", note.ID, err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO email_deliveries (id, notification_id, user_id, to_address, message, status) VALUES ($1, $2, $3, '', $4, $5)`,
		newID(), note.ID, note.userID, raw, statusHeld)
	if err != nil {
		return fmt.Errorf("hold e-mail of notification %s: %w", note.ID, err)
	}
	return nil
}

// heldEmail is a held delivery as its release reads it.
type heldEmail struct {
	id    string
	kind  Kind
	stale bool
}

// releaseHeldEmails settles the held e-mails of a user the directory now
// knows, as it knows them (a late, older event changed nothing there):
// with an address, each is queued to it, dropped if they turned its kind
// off, or given up when it waited too long or the account is deactivated.
// Without an address they stay held. It reports whether it queued any.
func (s *Service) releaseHeldEmails(ctx context.Context, tx pgx.Tx, userID string, log *slog.Logger) (bool, error) {
	u, known, err := userByID(ctx, tx, userID)
	if err != nil || !known || u.Email == "" {
		return false, err
	}
	rows, err := tx.Query(ctx, `
		SELECT d.id::text, n.kind, d.created_at < now() - make_interval(secs => $2)
		FROM email_deliveries d JOIN notifications n ON n.id = d.notification_id
		WHERE d.user_id = $1 AND d.status = 'held'
		ORDER BY d.created_at, d.id
		FOR UPDATE OF d`, userID, holdEmailFor.Seconds())
	if err != nil {
		return false, fmt.Errorf("held e-mails of user %s: %w", userID, err)
	}
	held, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (heldEmail, error) {
		var h heldEmail
		err := r.Scan(&h.id, &h.kind, &h.stale)
		return h, err
	})
	if err != nil {
		return false, fmt.Errorf("held e-mails of user %s: %w", userID, err)
	}
	to, err := json.Marshal(Address{Name: oneLine(u.Name, maxNameRunes), Email: u.Email})
	if err != nil {
		return false, err
	}
	queued := false
	for _, h := range held {
		hlog := log.With("delivery_id", h.id, "user_id", userID, "kind", h.kind)
		switch {
		case h.stale:
			hlog.Warn("held e-mail given up: the recipient's address came too late")
			err = giveUpHeld(ctx, tx, h.id, heldTooLong)
		case !u.Active:
			hlog.Info("held e-mail given up: the recipient is deactivated")
			err = giveUpHeld(ctx, tx, h.id, heldInactive)
		default:
			var on bool
			if on, err = emailEnabled(ctx, tx, userID, h.kind); err != nil {
				break
			}
			if !on {
				hlog.Info("held e-mail dropped: the recipient turned this kind of e-mail off")
				_, err = tx.Exec(ctx, `DELETE FROM email_deliveries WHERE id = $1`, h.id)
				break
			}
			_, err = tx.Exec(ctx, `
				UPDATE email_deliveries SET status = 'queued', to_address = $2,
					message = jsonb_set(message, '{to}', $3::jsonb), next_attempt_at = now()
				WHERE id = $1`, h.id, u.Email, to)
			if err == nil {
				hlog.Info("held e-mail released: the recipient's address is known")
				queued = true
			}
		}
		if err != nil {
			return false, fmt.Errorf("release held e-mail %s: %w", h.id, err)
		}
	}
	return queued, nil
}

// giveUpHeld records a held e-mail as failed for the given reason.
func giveUpHeld(ctx context.Context, q postgres.Querier, id, reason string) error {
	_, err := q.Exec(ctx, `
		WITH gone AS (
			UPDATE email_deliveries SET status = 'failed', last_error = $2 WHERE id = $1 AND status = 'held' RETURNING id
		)
		INSERT INTO email_attempts (delivery_id, outcome, detail) SELECT id, 'failed', $2 FROM gone`, id, reason)
	return err
}

// giveUpStaleHeld gives up every e-mail held longer than holdEmailFor, for
// recipients whose user event never came, and returns how many.
func giveUpStaleHeld(ctx context.Context, q postgres.Querier) (int64, error) {
	tag, err := q.Exec(ctx, `
		WITH gone AS (
			UPDATE email_deliveries SET status = 'failed', last_error = $2
			WHERE status = 'held' AND created_at < now() - make_interval(secs => $1)
			RETURNING id
		)
		INSERT INTO email_attempts (delivery_id, outcome, detail) SELECT id, 'failed', $2 FROM gone`,
		holdEmailFor.Seconds(), heldTooLong)
	if err != nil {
		return 0, fmt.Errorf("give up stale held e-mails: %w", err)
	}
	return tag.RowsAffected(), nil
}
