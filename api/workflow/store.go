package workflow

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// EventSource is the CloudEvents source of the events the workflow engine
// publishes.
const EventSource = "/workflow"

// Store is the workflow engine's data in PostgreSQL: teams and their
// round-robin cursors, the user directory, process definitions, SLA
// policies, tickets waiting for an agent and the board. The HTTP handlers
// and the ticket workflow's activities both use it; every method is safe
// for concurrent use and retried calls of the activities' methods are
// idempotent.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns the store over pool, whose search path is the workflow
// schema (see postgres.Open and Migrate).
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the store's connection pool, for the outbox relay and
// readiness checks.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// PublishEvent writes e to the workflow schema's outbox, from which the
// relay publishes it. An event whose ID is already there counts as
// published, so an activity retried after it succeeded publishes once.
func (s *Store) PublishEvent(ctx context.Context, e events.Event) error {
	err := outbox.Write(ctx, s.pool, e)
	if postgres.IsUniqueViolation(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", e.Type, err)
	}
	// Committed: wake the relay; a lost wake-up only waits for its poll.
	_ = outbox.Notify(ctx, s.pool)
	return nil
}

// canonicalID returns s as a canonical UUID string, and false when s is not
// a UUID. IDs in paths and bodies go through it before they reach SQL, so a
// malformed one is the caller's error rather than a database error.
func canonicalID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return id.String(), true
}

// nullID maps "" to SQL NULL for nullable uuid columns.
func nullID(id string) *string {
	if id == "" {
		return nil
	}
	return &id
}
