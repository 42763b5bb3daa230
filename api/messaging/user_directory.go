package messaging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

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
// keeps: names for comments and presence, roles and whether the account
// is active for the WebSockets.
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

// UserDirectoryHandler returns the handler of UsersQueue: it keeps
// messaging's directory of users from auth's user.created and user.updated
// events, and when an event changes a user's role or deactivates them, it
// ends that user's WebSockets on every replica (close code 1008), since a
// socket keeps the rights its user had when it opened. The client opens a
// new one, which gets the user's new rights (see serveWS).
//
// Each event is applied once (the inbox claim joins the upsert's
// transaction), and an event older than the one a user's row came from
// changes nothing, so redelivered and reordered events leave the newest
// data in place and end no session. The sockets are ended inside the
// transaction: if Redis is down, the event is retried, not lost.
func (s *Service) UserDirectoryHandler() rabbitmq.Handler {
	pool, log, hub := s.pool, s.log, s.hub
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
			// Locked, so that two events of one user compare in turn.
			old, known, err := lookupUser(ctx, tx, u.ID, true)
			if err != nil {
				return err
			}
			stored, err := upsertUser(ctx, tx, u, e)
			if err != nil || !stored {
				return err
			}
			reason := sessionEndReason(old, known, u, e.Type)
			if reason == "" {
				return nil
			}
			if err := hub.endSessions(ctx, u.ID, reason); err != nil {
				return err
			}
			log.Info("ending the user's websockets", "user_id", u.ID, "reason", reason, "event_id", e.ID)
			return nil
		})
	}
}

// Close reasons of a socket whose user's rights changed.
const (
	reasonRoleChanged = "session ended: role changed"
	reasonDeactivated = "account deactivated"
)

// sessionEndReason returns why the sockets of the user must end now that
// the directory holds now instead of old (known false: nothing), or ""
// when they may stay open: a change of name, a reactivation. A
// user.updated of a user the directory did not know may have changed
// anything, so it ends their sockets too.
func sessionEndReason(old directoryUser, known bool, now directoryUser, eventType string) string {
	switch {
	case !now.Active && (!known || old.Active):
		return reasonDeactivated
	case !known && eventType == events.UserUpdated:
		return reasonRoleChanged
	case known && old.Role != now.Role:
		return reasonRoleChanged
	}
	return ""
}

// permanentIfInvalid marks err permanent when it reports a malformed
// event, which no retry can fix.
func permanentIfInvalid(err error) error {
	if errors.Is(err, events.ErrInvalid) {
		return rabbitmq.Permanent(err)
	}
	return err
}
