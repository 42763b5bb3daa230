package notification

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// UserChannel is the Redis channel of a user's live notifications: each
// new notification is published there as its JSON (see Notification), for
// the messaging service to push down the user's WebSocket.
func UserChannel(redisPrefix, userID string) string { return redisPrefix + "user:" + userID }

// livePublishTimeout bounds publishing one event's notifications to Redis.
const livePublishTimeout = 5 * time.Second

// HandleEvent is the handler of EventsQueue (a rabbitmq.Handler). It keeps
// the user and ticket directories, and stores the notifications the event
// calls for with their e-mails to send, all in the transaction of the
// event's inbox claim: a redelivered event changes nothing and notifies
// nobody again. Once that commits, it publishes the new notifications to
// Redis and wakes the e-mail sender.
//
// A malformed event is a permanent failure, for the dead-letter queue. A
// recipient unknown to the user directory (their user.created has not
// arrived yet: auth's events and the workflow's travel apart) still gets
// the in-app notification, live too, since the event names them; the
// e-mail is held until a user event brings their address (see
// releaseHeldEmails), so the event is acknowledged and nothing is lost.
func (s *Service) HandleEvent(ctx context.Context, e events.Event) error {
	log := logging.FromContext(ctx, s.log).With("event_id", e.ID, "event_type", e.Type)
	c, err := interpret(e)
	if err != nil {
		return rabbitmq.Permanent(err)
	}
	if c.user == nil && c.ticket == nil && len(c.notices) == 0 && c.passwordReset == nil {
		log.Warn("notification consumer ignores an event it is not bound to")
		return nil
	}
	var created []Notification
	queued := false
	err = postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		first, err := outbox.Claim(ctx, tx, EventsQueue, e.ID)
		if err != nil {
			if isInvalid(err) {
				return rabbitmq.Permanent(err)
			}
			return err
		}
		if !first {
			log.Debug("event already handled")
			return nil
		}
		created, queued, err = s.apply(ctx, tx, e, c, log)
		return err
	})
	if err != nil {
		return err
	}
	s.publishLive(ctx, created, log)
	if queued {
		s.wakeSender()
	}
	return nil
}

// apply makes the change c of event e in tx and returns the notifications
// it stored, and whether it queued any e-mail.
func (s *Service) apply(ctx context.Context, tx pgx.Tx, e events.Event, c change, log *slog.Logger) ([]Notification, bool, error) {
	var (
		created []Notification
		queued  bool
	)
	if c.user != nil {
		// Under the user's lock, which give takes before holding an
		// e-mail for an unknown user: no held e-mail misses its release.
		if err := lockUser(ctx, tx, c.user.ID); err != nil {
			return nil, false, fmt.Errorf("event %s: %w", e.ID, err)
		}
		if err := upsertUser(ctx, tx, *c.user, e.Time); err != nil {
			return nil, false, fmt.Errorf("event %s: %w", e.ID, err)
		}
		released, err := s.releaseHeldEmails(ctx, tx, c.user.ID, log)
		if err != nil {
			return nil, false, fmt.Errorf("event %s: %w", e.ID, err)
		}
		queued = released
	}
	if c.ticket != nil {
		if err := upsertTicket(ctx, tx, *c.ticket, e.Time); err != nil {
			return nil, false, fmt.Errorf("event %s: %w", e.ID, err)
		}
	}
	for _, n := range c.notices {
		got, q, err := s.give(ctx, tx, e, n, log)
		if err != nil {
			return nil, false, fmt.Errorf("event %s: %w", e.ID, err)
		}
		created = append(created, got...)
		queued = queued || q
	}
	if c.passwordReset != nil {
		q, err := s.queuePasswordResetEmail(ctx, tx, e, *c.passwordReset, log)
		if err != nil {
			return nil, false, fmt.Errorf("event %s: %w", e.ID, err)
		}
		queued = queued || q
	}
	return created, queued, nil
}

// give stores notice n for each of its recipients, with an e-mail for
// those who want one, and returns the notifications and whether any e-mail
// was queued. A recipient the user directory does not know yet is told in
// the app, and their e-mail is held until their address is known; a note
// for staff only goes to known staff, though.
func (s *Service) give(ctx context.Context, tx pgx.Tx, e events.Event, n notice, log *slog.Logger) ([]Notification, bool, error) {
	title := n.title
	if title == "" {
		var err error
		if title, err = ticketTitle(ctx, tx, n.ticketID); err != nil {
			return nil, false, err
		}
	}
	var admins []string
	if n.toAdmins {
		var err error
		if admins, err = activeAdmins(ctx, tx); err != nil {
			return nil, false, err
		}
	}
	headline, body := n.words(title)
	var (
		created []Notification
		queued  bool
	)
	for _, id := range n.recipients(admins) {
		rlog := log.With("user_id", id, "ticket_id", n.ticketID, "kind", n.kind)
		u, known, err := recipientByID(ctx, tx, id)
		switch {
		case err != nil:
			return nil, false, err
		case !known && n.staffOnly:
			rlog.Warn("recipient of a note for staff is unknown to the user directory; not notified")
			continue
		case !known:
			rlog.Info("recipient unknown to the user directory yet; told in the app, e-mail held until their address is known")
		case !u.Active:
			rlog.Info("recipient deactivated; not notified")
			continue
		case n.staffOnly && u.Role != authn.RoleAgent && u.Role != authn.RoleAdmin:
			rlog.Warn("recipient of a note for staff is not staff; not notified")
			continue
		}
		note := Notification{
			ID: newID(), Kind: n.kind, TicketID: n.ticketID,
			Title: headline, Body: body, Link: ticketPath(n.ticketID), userID: id,
			survey: n.detail.survey,
		}
		if n.link != "" {
			note.Link = n.link
		}
		if err := insertNotification(ctx, tx, e.ID, &note); err != nil {
			return nil, false, err
		}
		created = append(created, note)
		if n.inAppOnly {
			continue
		}
		if !known {
			if err := s.holdEmail(ctx, tx, note); err != nil {
				return nil, false, err
			}
			continue
		}
		q, err := s.queueEmail(ctx, tx, note, u)
		if err != nil {
			return nil, false, err
		}
		queued = queued || q
	}
	return created, queued, nil
}

// queueEmail queues the e-mail announcing note to u, unless u turned that
// kind of e-mail off; it reports whether it queued one.
func (s *Service) queueEmail(ctx context.Context, tx pgx.Tx, note Notification, u userData) (bool, error) {
	on, err := emailEnabled(ctx, tx, u.ID, note.Kind)
	if err != nil || !on {
		return false, err
	}
	msg, err := s.composeEmail(note, u)
	if err != nil {
		return false, err
	}
	return true, insertDelivery(ctx, tx, newID(), note, msg)
}

// publishLive publishes new notifications to their users' Redis channels.
// The notifications are stored already, so a failure here costs only the
// live update: the web app finds them on its next fetch.
func (s *Service) publishLive(ctx context.Context, created []Notification, log *slog.Logger) {
	if len(created) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, livePublishTimeout)
	defer cancel()
	for _, n := range created {
		payload, err := json.Marshal(n)
		if err != nil {
			log.Error("encode live notification", "notification_id", n.ID, "err", err)
			continue
		}
		if err := s.rdb.Publish(ctx, UserChannel(s.prefix, n.userID), payload).Err(); err != nil {
			log.Warn("publish live notification to Redis", "notification_id", n.ID, "user_id", n.userID, "err", err)
		}
	}
}
