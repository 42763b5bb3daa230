package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// UsersQueue is the RabbitMQ queue of the user directory's consumer, and
// its name in the inbox that makes redeliveries no-ops.
const UsersQueue = "messaging.users"

// UserEventTypes returns the event types the user directory consumes, the
// bindings of UsersQueue.
func UserEventTypes() []string { return []string{events.UserCreated, events.UserUpdated} }

// directoryUser is the part of user.created and user.updated messaging
// keeps: names for comments and presence.
type directoryUser struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Role   authn.Role `json:"role"`
	Active bool       `json:"active"`
}

func (u directoryUser) validate() error {
	switch {
	case !validID(u.ID):
		return fmt.Errorf("%w: user id %q is not a UUID", events.ErrInvalid, u.ID)
	case u.Name == "" || utf8.RuneCountInString(u.Name) > 200 || strings.ContainsRune(u.Name, 0):
		return fmt.Errorf("%w: user %s has no usable name", events.ErrInvalid, u.ID)
	case !u.Role.Valid():
		return fmt.Errorf("%w: user %s has role %q", events.ErrInvalid, u.ID, u.Role)
	}
	return nil
}

// NewUserDirectoryHandler returns the handler of UsersQueue: it keeps
// messaging's directory of user names from auth's user.created and
// user.updated events. Each event is applied once (the inbox claim joins
// the upsert's transaction), and an event older than the one a user's row
// came from changes nothing, so redelivered and reordered events leave the
// newest data in place.
func NewUserDirectoryHandler(pool *pgxpool.Pool, log *slog.Logger) rabbitmq.Handler {
	return func(ctx context.Context, e events.Event) error {
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
				return permanentIfInvalid(err)
			}
			if !first {
				return nil
			}
			return upsertUser(ctx, tx, u, e)
		})
	}
}

// permanentIfInvalid marks err permanent when it reports a malformed
// event, which no retry can fix.
func permanentIfInvalid(err error) error {
	if errors.Is(err, events.ErrInvalid) {
		return rabbitmq.Permanent(err)
	}
	return err
}
