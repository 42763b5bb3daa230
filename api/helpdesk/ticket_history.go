package helpdesk

import (
	"context"
	"time"

	"github.com/ticketflow/ticketflow/internal/authn"
)

// HistoryEntry is one change to a ticket. A ticket's first entry is its
// creation: field FieldTicket, old null, new "created".
type HistoryEntry struct {
	Field string  `json:"field"`
	Old   *string `json:"old"`
	New   *string `json:"new"`
	// ActorID is who made the change: a user's ID, or a service's client ID.
	ActorID string `json:"actor_id"`
	// ActorName is the user's name, when the user directory knows it.
	ActorName string    `json:"actor_name,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	At        time.Time `json:"at"`
}

// History returns every change to the ticket id, oldest first, if caller
// may see the ticket.
func (s *Service) History(ctx context.Context, caller authn.User, id string) ([]HistoryEntry, error) {
	if _, err := s.Ticket(ctx, caller, id); err != nil {
		return nil, err
	}
	return ticketHistory(ctx, s.pool, id)
}
