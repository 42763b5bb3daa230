package helpdesk

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// UsersQueue is the RabbitMQ queue of the user directory's consumer, and
// its name in the inbox that makes redeliveries no-ops.
const UsersQueue = "helpdesk.users"

// UserEventTypes returns the event types the user directory consumes, the
// bindings of UsersQueue.
func UserEventTypes() []string { return []string{events.UserCreated, events.UserUpdated} }

// directoryUser is the data of user.created and user.updated, as auth
// publishes it.
type directoryUser struct {
	ID     string     `json:"id"`
	Email  string     `json:"email"`
	Name   string     `json:"name"`
	Role   authn.Role `json:"role"`
	Active bool       `json:"active"`
}

func (u directoryUser) validate() error {
	var f fieldErrors
	f.checkUUID("id", u.ID)
	f.checkText("email", u.Email, 254)
	f.checkText("name", u.Name, 200)
	if !u.Role.Valid() {
		f.add("role", "must be employee, agent or admin")
	}
	if len(f) > 0 {
		return fmt.Errorf("%w: user data: %v", events.ErrInvalid, f)
	}
	return nil
}

// NewUserDirectoryHandler returns the handler of UsersQueue: it keeps the
// helpdesk's directory of users (names and roles, for display and filters)
// from auth's user.created and user.updated events. Each event is applied
// once (the inbox claim joins the upsert's transaction), and an event older
// than the one a user's row came from changes nothing, so redelivered and
// reordered events leave the newest data in place.
func NewUserDirectoryHandler(pool *pgxpool.Pool, log *slog.Logger) rabbitmq.Handler {
	return func(ctx context.Context, e events.Event) error {
		log := logging.FromContext(ctx, log)
		if e.Type != events.UserCreated && e.Type != events.UserUpdated {
			log.Warn("user directory ignores an event it is not bound to", "event_type", e.Type, "event_id", e.ID)
			return nil
		}
		var u directoryUser
		if err := e.DecodeData(&u); err != nil {
			return rabbitmq.Permanent(err)
		}
		if err := u.validate(); err != nil {
			return rabbitmq.Permanent(fmt.Errorf("event %s: %w", e.ID, err))
		}
		if e.Time.IsZero() {
			// Without a time, a late event could not be told from a new one.
			return rabbitmq.Permanent(fmt.Errorf("event %s has no time: %w", e.ID, events.ErrInvalid))
		}
		return postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
			first, err := outbox.Claim(ctx, tx, UsersQueue, e.ID)
			if err != nil {
				return rabbitmq.Permanent(err) // only a malformed event ID fails here for good
			}
			if !first {
				log.Debug("user event already applied", "event_id", e.ID, "user_id", u.ID)
				return nil
			}
			changed, err := upsertUser(ctx, tx, u, e)
			if err == nil && !changed {
				log.Debug("user event older than the directory's data", "event_id", e.ID, "user_id", u.ID)
			}
			return err
		})
	}
}
