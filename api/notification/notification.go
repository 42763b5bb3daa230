// Package notification tells people what happened to their tickets: in the
// app and by e-mail.
//
// A RabbitMQ consumer (see Service.HandleEvent) reads the ticket, comment,
// SLA and user events, keeps a directory of users and tickets from them,
// decides who hears what, and writes in one transaction with the event's
// inbox claim: the in-app notifications and the e-mails to send. A
// redelivered event finds its claim and creates nothing, so nobody is told
// twice. New notifications are then published to Redis, on the channel
// UserChannel names, for the messaging service to push over the user's
// WebSocket; the e-mails are sent by a sender loop (Service.RunSender)
// through SendGrid, SMTP or, in development, .eml files, retried with
// backoff and logged attempt by attempt.
//
// People read and mark their notifications, and choose which kinds reach
// them by e-mail, under Prefix.
package notification

import (
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Kind is what a notification is about. Kinds are named after the event
// that causes them, and e-mail preferences are set per kind.
type Kind string

// The kinds of notifications.
const (
	KindTicketCreated Kind = "ticket.created"        // to the requester of a ticket opened by e-mail: it was received
	KindAssigned      Kind = "ticket.assigned"       // to the new assignee
	KindStatusChanged Kind = "ticket.status_changed" // to the requester
	KindComment       Kind = "comment.created"       // to the requester (public only) and the assignee
	KindSLAWarning    Kind = "sla.warning"           // to the assignee and the admins
	KindSLABreached   Kind = "sla.breached"          // to the assignee and the admins
	// KindWebhookDisabled tells every active admin, in the app only (it is
	// not among Kinds(), which have e-mail settings), that a webhook
	// endpoint was turned off because its receiver kept failing.
	KindWebhookDisabled Kind = "webhook.disabled"
	// KindSurveyRequested asks the requester of a resolved ticket for a
	// rating; its e-mail carries the one-click links.
	KindSurveyRequested Kind = "survey.requested"
)

// Kinds returns every kind of notification, in a new slice.
func Kinds() []Kind {
	return []Kind{KindTicketCreated, KindAssigned, KindStatusChanged, KindComment, KindSLAWarning, KindSLABreached, KindSurveyRequested}
}

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool { return slices.Contains(Kinds(), k) }

// Config is what the service needs to know beyond its connections.
type Config struct {
	// PublicURL is where users reach the web app: e-mails link into it,
	// and its host names the e-mails' Message-IDs.
	PublicURL string
	// From is the sender of every e-mail, such as
	// "Ticketflow <help@example.com>".
	From string
	// RedisPrefix starts the Redis channel of each user's notifications.
	RedisPrefix string
	// Sender tunes the e-mail sender loop.
	Sender SenderOptions
}

// Service implements the notification service: the event consumer, the
// e-mail sender loop and the use cases of the HTTP API.
type Service struct {
	pool   *pgxpool.Pool
	rdb    *redis.Client
	mailer Mailer
	log    *slog.Logger

	publicURL string
	mailHost  string
	from      netmail.Address
	prefix    string
	sender    SenderOptions
	// wake tells the sender loop that e-mails were queued, so they leave
	// without waiting for the next poll.
	wake chan struct{}
}

// NewService returns the notification service on pool, whose schema
// Migrate has brought up to date, publishing live notifications to rdb and
// sending e-mail through mailer.
func NewService(pool *pgxpool.Pool, rdb *redis.Client, mailer Mailer, cfg Config, log *slog.Logger) (*Service, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("notification: public URL %q is not an absolute URL", cfg.PublicURL)
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notification: sender address %q: %w", cfg.From, err)
	}
	cfg.Sender.setDefaults()
	return &Service{
		pool:      pool,
		rdb:       rdb,
		mailer:    mailer,
		log:       log,
		publicURL: strings.TrimRight(u.String(), "/"),
		mailHost:  messageIDHost(u.Hostname()),
		from:      *from,
		prefix:    cfg.RedisPrefix,
		sender:    cfg.Sender,
		wake:      make(chan struct{}, 1),
	}, nil
}

// dotAtom matches a host that may stand right of the @ of a Message-ID
// as it is (RFC 5322 dot-atom-text, restricted to host name characters).
var dotAtom = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$`)

// messageIDHost returns the domain of the Message-IDs: PUBLIC_URL's host,
// or "localhost" when that cannot appear in one (an IPv6 literal).
func messageIDHost(host string) string {
	if dotAtom.MatchString(host) {
		return strings.ToLower(host)
	}
	return "localhost"
}

// ticketURL is the web app's page of a ticket.
func (s *Service) ticketURL(ticketID string) string {
	return s.publicURL + ticketPath(ticketID)
}

// ticketPath is the web app's path of a ticket, the link of an in-app
// notification.
func ticketPath(ticketID string) string { return "/tickets/" + ticketID }

// validID reports whether id can name a row. A malformed ID is answered
// like an unknown one, 404, so IDs cannot be probed by their shape.
func validID(id string) bool { return uuid.Validate(id) == nil }

// newID returns a time-ordered UUID (version 7), which keeps inserts at the
// right edge of the primary key index.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// Only a failing random source gets here; v4 fails the same way.
		return uuid.NewString()
	}
	return id.String()
}
