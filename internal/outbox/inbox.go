package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Claim records that consumer is processing the event with eventID and
// reports whether it is the first to: true means do the work, false means
// the event was processed before and this delivery is a duplicate to
// acknowledge without effect.
//
// Call it in the transaction that does the work: if the work fails and the
// transaction rolls back, the claim goes with it and a redelivery is
// processed afresh. Two concurrent deliveries of one event serialize on the
// inbox's primary key, so only one of them gets true. An eventID that is
// not a UUID is an error wrapping events.ErrInvalid (retrying cannot help).
func Claim(ctx context.Context, q postgres.Querier, consumer, eventID string) (first bool, err error) {
	if consumer == "" {
		return false, errors.New("inbox claim: consumer name required")
	}
	id, err := uuid.Parse(eventID)
	if err != nil {
		return false, fmt.Errorf("inbox claim: event id %q is not a UUID: %w", eventID, events.ErrInvalid)
	}
	tag, err := q.Exec(ctx, `INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		consumer, id.String())
	if err != nil {
		return false, fmt.Errorf("inbox claim %s for %s: %w", eventID, consumer, err)
	}
	return tag.RowsAffected() == 1, nil
}
