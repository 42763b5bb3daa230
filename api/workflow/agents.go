package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// DirectoryConsumer is the name under which the user directory claims the
// events it processed (see outbox.Claim).
const DirectoryConsumer = "workflow.users"

// Agent is a user who may be given tickets: an active agent or admin of
// the directory.
type Agent struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
}

// userEvent is the data of user.created and user.updated, as the identity
// provider publishes them (auth.UserEvent).
type userEvent struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Active bool   `json:"active"`
}

// NewAgentDirectory returns the consumer of user.created and user.updated
// that keeps the workflow engine's user directory: who is an agent or an
// admin, and who is active. Each event is applied once (claimed in the
// transaction that applies it) and never over the data of a newer event,
// so redeliveries and reordering change nothing. Other event types are
// acknowledged and ignored; events that cannot be read are dead-lettered.
//
// A user who stops being an agent or admin, or is deactivated, stays in
// their teams but is no longer assignable.
func NewAgentDirectory(store *Store, log *slog.Logger) rabbitmq.Handler {
	return func(ctx context.Context, e events.Event) error {
		if e.Type != events.UserCreated && e.Type != events.UserUpdated {
			return nil
		}
		var u userEvent
		if err := e.DecodeData(&u); err != nil {
			return rabbitmq.Permanent(err)
		}
		id, ok := canonicalID(u.ID)
		if !ok {
			return rabbitmq.Permanent(fmt.Errorf("%s event %s: user id %q is not a UUID", e.Type, e.ID, u.ID))
		}
		u.ID = id
		applied, err := store.applyUserEvent(ctx, e, u)
		if errors.Is(err, events.ErrInvalid) {
			return rabbitmq.Permanent(err)
		}
		if err != nil {
			return err
		}
		if applied {
			log.Info("directory entry updated", "event_id", e.ID, "user_id", u.ID, "role", u.Role, "active", u.Active)
		}
		return nil
	}
}

// applyUserEvent writes u to the directory unless the event was processed
// before or the entry holds the data of a newer event, and reports whether
// it changed anything.
func (s *Store) applyUserEvent(ctx context.Context, e events.Event, u userEvent) (bool, error) {
	// An event without a time can only create an entry, never overwrite one.
	var at *time.Time
	if !e.Time.IsZero() {
		at = &e.Time
	}
	var applied bool
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		first, err := outbox.Claim(ctx, tx, DirectoryConsumer, e.ID)
		if err != nil || !first {
			return err
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO agents (user_id, email, name, role, active, event_time)
			VALUES ($1, $2, $3, $4, $5, coalesce($6, '-infinity'::timestamptz))
			ON CONFLICT (user_id) DO UPDATE SET
				email = EXCLUDED.email, name = EXCLUDED.name, role = EXCLUDED.role,
				active = EXCLUDED.active, event_time = EXCLUDED.event_time
			WHERE agents.event_time <= EXCLUDED.event_time`,
			u.ID, u.Email, u.Name, u.Role, u.Active, at)
		if err != nil {
			return fmt.Errorf("write directory entry %s: %w", u.ID, err)
		}
		applied = tag.RowsAffected() == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("apply %s event %s: %w", e.Type, e.ID, err)
	}
	return applied, nil
}

// Agents returns the users who may be given tickets, by name.
func (s *Store) Agents(ctx context.Context) ([]Agent, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.user_id::text, a.email, a.name, a.role FROM agents a
		WHERE `+assignableSQL+`
		ORDER BY lower(a.name), a.user_id`)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	agents, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Agent])
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return agents, nil
}

// listAgents serves GET /agents: the users an admin may add to a team or
// a ticket may be reassigned to.
func (h *Handler) listAgents(w http.ResponseWriter, r *http.Request) {
	agents, err := h.store.Agents(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, httpx.List[Agent]{Items: orEmpty(agents)})
}
