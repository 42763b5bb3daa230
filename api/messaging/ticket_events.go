package messaging

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// TicketEventsQueue is the RabbitMQ queue of the ticket-change consumer,
// and its name in the inbox that makes redeliveries no-ops.
const TicketEventsQueue = "messaging.ticket-events"

// TicketEventTypes returns the event types that TicketEventsHandler
// consumes, the bindings of TicketEventsQueue.
func TicketEventTypes() []string {
	return []string{events.TicketUpdated, events.TicketAssigned, events.TicketStatusChanged}
}

// TicketEventsHandler returns the handler of TicketEventsQueue: each
// ticket change goes live to the ticket's subscribers as a ticket.updated
// frame whose data is the event's, and drops the ticket's cached access
// answers, whose assignee may now be stale. An event is handled once: the
// inbox claim commits only after the frame is published.
func (s *Service) TicketEventsHandler() rabbitmq.Handler {
	return func(ctx context.Context, e events.Event) error {
		ticketID, err := ticketOf(e)
		if err != nil {
			return rabbitmq.Permanent(err)
		}
		return postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			first, err := outbox.Claim(ctx, tx, TicketEventsQueue, e.ID)
			if err != nil || !first {
				return permanentIfInvalid(err)
			}
			if err := s.access.forget(ctx, ticketID); err != nil {
				return err
			}
			return s.hub.publish(ctx, ticketID, busFrame{Frame: Frame{Type: FrameTicketUpdated, Data: e.Data}})
		})
	}
}

// ticketOf returns the ID of the ticket an event is about: ticket.id in
// ticket.updated, ticket_id in the workflow's events, or else the subject.
func ticketOf(e events.Event) (string, error) {
	var data struct {
		TicketID string `json:"ticket_id"`
		Ticket   struct {
			ID string `json:"id"`
		} `json:"ticket"`
	}
	if err := e.DecodeData(&data); err != nil {
		return "", err
	}
	for _, id := range []string{data.Ticket.ID, data.TicketID, e.Subject} {
		if validID(id) {
			return id, nil
		}
	}
	return "", fmt.Errorf("%s event %s names no ticket: %w", e.Type, e.ID, events.ErrInvalid)
}
