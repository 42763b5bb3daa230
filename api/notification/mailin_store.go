package notification

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

// insertInbound stores a message unless one with its Message-ID is stored;
// it returns the stored row's ID and status, and whether it was there.
func insertInbound(ctx context.Context, q postgres.Querier, id, messageID, source string, raw []byte, sender, subject string) (string, string, bool, error) {
	var rowID, status string
	err := q.QueryRow(ctx, `
		INSERT INTO inbound_messages (id, message_id, source, raw, sender, subject)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (message_id) DO NOTHING
		RETURNING id::text, status`, id, messageID, source, raw, sender, subject).Scan(&rowID, &status)
	if err == nil {
		return rowID, status, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, fmt.Errorf("store e-mail %s: %w", messageID, err)
	}
	err = q.QueryRow(ctx, `SELECT id::text, status FROM inbound_messages WHERE message_id = $1`, messageID).Scan(&rowID, &status)
	if err != nil {
		return "", "", false, fmt.Errorf("find stored e-mail %s: %w", messageID, err)
	}
	return rowID, status, true, nil
}

// inboundRaw returns the stored message rowID as received.
func inboundRaw(ctx context.Context, q postgres.Querier, rowID string) ([]byte, error) {
	if !validID(rowID) {
		return nil, apperr.New(apperr.NotFound, "no such e-mail")
	}
	var raw []byte
	err := q.QueryRow(ctx, `SELECT raw FROM inbound_messages WHERE id = $1`, rowID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no such e-mail")
	}
	if err != nil {
		return nil, fmt.Errorf("read stored e-mail %s: %w", rowID, err)
	}
	return raw, nil
}

// updateInboundOutcome records what became of a stored message.
func updateInboundOutcome(ctx context.Context, q postgres.Querier, rowID string, res workflows.InboundMailResult) error {
	tag, err := q.Exec(ctx, `
		UPDATE inbound_messages SET status = $2, reason = $3, ticket_id = NULLIF($4, '')::uuid,
			comment_id = NULLIF($5, '')::uuid, processed_at = now()
		WHERE id = $1`, rowID, res.Outcome, truncate(res.Reason, maxDetail), res.TicketID, res.CommentID)
	if err != nil {
		return fmt.Errorf("record outcome of e-mail %s: %w", rowID, err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.New(apperr.NotFound, "no such e-mail")
	}
	return nil
}

// sentByUs reports whether messageID (without angle brackets) is one of
// the e-mails the notification service sent.
func sentByUs(ctx context.Context, q postgres.Querier, messageID string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM email_deliveries WHERE message ->> 'message_id' = '<' || $1 || '>')`, messageID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look up Message-ID %s: %w", messageID, err)
	}
	return ok, nil
}

// ticketOfDelivery returns the ticket of the newest e-mail we sent whose
// Message-ID is among ids (without angle brackets), or "", and the address
// that e-mail went to.
func ticketOfDelivery(ctx context.Context, q postgres.Querier, ids []string) (string, string, error) {
	bracketed := make([]string, len(ids))
	for i, id := range ids {
		bracketed[i] = "<" + id + ">"
	}
	var ticketID, to string
	err := q.QueryRow(ctx, `
		SELECT n.ticket_id::text, lower(d.to_address) FROM email_deliveries d JOIN notifications n ON n.id = d.notification_id
		WHERE d.message ->> 'message_id' = ANY($1) AND n.ticket_id IS NOT NULL
		ORDER BY d.created_at DESC LIMIT 1`, bracketed).Scan(&ticketID, &to)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("find the ticket of a reply: %w", err)
	}
	return ticketID, to, nil
}

// categoryFor returns the category the first mapped recipient files new
// tickets in, else the default ('*') mapping's, else "".
func categoryFor(ctx context.Context, q postgres.Querier, recipients []string) (string, error) {
	var categoryID string
	err := q.QueryRow(ctx, `
		SELECT category_id::text FROM inbound_addresses
		WHERE address = ANY($1) OR address = '*'
		ORDER BY address = '*', array_position($1, address)
		LIMIT 1`, recipients).Scan(&categoryID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("category of %v: %w", recipients, err)
	}
	return categoryID, nil
}

// InboundAddress maps a receiving address to the category of the tickets
// its e-mail opens; the address "*" stands for every other address.
type InboundAddress struct {
	Address    string    `json:"address"`
	CategoryID string    `json:"category_id"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func listInboundAddresses(ctx context.Context, q postgres.Querier) ([]InboundAddress, error) {
	rows, err := q.Query(ctx, `SELECT address, category_id::text, updated_at FROM inbound_addresses ORDER BY address`)
	if err != nil {
		return nil, fmt.Errorf("list inbound addresses: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[InboundAddress])
	if err != nil {
		return nil, fmt.Errorf("list inbound addresses: %w", err)
	}
	return list, nil
}

func putInboundAddress(ctx context.Context, q postgres.Querier, address, categoryID string) (InboundAddress, error) {
	var a InboundAddress
	err := q.QueryRow(ctx, `
		INSERT INTO inbound_addresses (address, category_id) VALUES ($1, $2)
		ON CONFLICT (address) DO UPDATE SET category_id = EXCLUDED.category_id, updated_at = now()
		RETURNING address, category_id::text, updated_at`, address, categoryID).Scan(&a.Address, &a.CategoryID, &a.UpdatedAt)
	if err != nil {
		return InboundAddress{}, fmt.Errorf("set inbound address %s: %w", address, err)
	}
	return a, nil
}

func deleteInboundAddress(ctx context.Context, q postgres.Querier, address string) (bool, error) {
	tag, err := q.Exec(ctx, `DELETE FROM inbound_addresses WHERE address = $1`, address)
	if err != nil {
		return false, fmt.Errorf("delete inbound address %s: %w", address, err)
	}
	return tag.RowsAffected() > 0, nil
}
