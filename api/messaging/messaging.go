// Package messaging is the conversation of each ticket: comments (public
// replies and internal notes, which a requester never sees), their edits
// and deletions with history, attachments, and the live side of it all over
// WebSocket: new and edited comments, typing, presence, ticket changes and
// each user's in-app notifications.
//
// Before it touches anything of a ticket, messaging asks the helpdesk
// whether the ticket exists and the caller may see it (the internal access
// route, with a service token), and caches yes for a short while in Redis.
//
// Every new comment is stored together with a comment.created event in the
// outbox, in one transaction. Messaging does not call Temporal: a consumer
// in workers/ signals the ticket's workflow from that event, so the signal
// is as durable as the comment and survives Temporal being down.
//
// Live frames cross replicas through Redis pub/sub: the channel
// <prefix>ticket:<id> carries a ticket's frames, <prefix>user:<id> a user's
// notifications (published by the notification service), and
// <prefix>messaging:sessions asks every replica to close a user's sockets
// when user.updated changes their role or deactivates them. Every replica
// listens to all three and hands each frame to its own sockets.
package messaging

import (
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/outbox"
)

// EventSource is the CloudEvents source of the events messaging publishes.
const EventSource = "/messaging"

// Defaults of Config.
const (
	DefaultAccessCacheTTL     = 30 * time.Second
	DefaultEditWindow         = 15 * time.Minute
	DefaultAttachmentsDir     = ".data/attachments"
	DefaultMaxAttachmentBytes = 25 << 20
)

// Config tunes the service; zero values take the defaults.
type Config struct {
	// HelpdeskURL is the helpdesk's base URL, without /helpdesk; the
	// access check calls its internal routes.
	HelpdeskURL string
	// RedisPrefix starts every Redis key and channel (REDIS_PREFIX).
	RedisPrefix string
	// AccessCacheTTL is how long a "yes, may see" answer of the helpdesk is
	// reused. Negative disables the cache.
	AccessCacheTTL time.Duration
	// EditWindow is how long after writing it an author may edit or delete
	// a comment.
	EditWindow time.Duration
	// AttachmentsDir holds the attachments' files.
	AttachmentsDir string
	// MaxAttachmentBytes is the largest attachment accepted (413 above).
	MaxAttachmentBytes int64
	// AllowedOrigins are the browser origins ("https://desk.example.com")
	// that may open the WebSocket. Requests without an Origin header (not
	// from a browser) are allowed: only browsers carry a user's ambient
	// credentials across sites.
	AllowedOrigins []string
	// WebSocket tunes the live connections.
	WebSocket WebSocketOptions
}

func (c *Config) setDefaults() {
	if c.AccessCacheTTL == 0 {
		c.AccessCacheTTL = DefaultAccessCacheTTL
	}
	if c.EditWindow <= 0 {
		c.EditWindow = DefaultEditWindow
	}
	if c.AttachmentsDir == "" {
		c.AttachmentsDir = DefaultAttachmentsDir
	}
	if c.MaxAttachmentBytes <= 0 {
		c.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	c.HelpdeskURL = strings.TrimSuffix(c.HelpdeskURL, "/")
	c.WebSocket.setDefaults()
}

// Service implements messaging's use cases; the HTTP handlers, the
// WebSocket connections and the event consumers call it.
type Service struct {
	pool   *pgxpool.Pool
	events *outbox.Writer // runs the transactions that write events
	rdb    *redis.Client
	access *accessChecker
	files  *fileStore
	hub    *hub
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
}

// NewService returns the messaging service on pool, whose schema Migrate
// has brought up to date. tokens authenticates its calls to the helpdesk
// at cfg.HelpdeskURL; rdb caches access answers, keeps WebSocket tickets
// and presence, and carries the live frames between replicas.
func NewService(pool *pgxpool.Pool, rdb *redis.Client, tokens authn.TokenSource, cfg Config, log *slog.Logger) *Service {
	cfg.setDefaults()
	log = log.With("service", "messaging")
	access := newAccessChecker(cfg.HelpdeskURL, tokens, rdb, cfg.RedisPrefix, cfg.AccessCacheTTL, log)
	return &Service{
		pool:   pool,
		events: outbox.NewWriter(pool),
		rdb:    rdb,
		access: access,
		files:  newFileStore(cfg.AttachmentsDir),
		hub:    newHub(rdb, cfg.RedisPrefix, cfg.WebSocket, access, log),
		cfg:    cfg,
		log:    log,
		now:    time.Now,
	}
}

// validID reports whether id can name a row. A malformed ID is answered
// like an unknown one, 404, so IDs cannot be probed by their shape.
func validID(id string) bool { return uuid.Validate(id) == nil }

// newID returns a time-ordered UUID (version 7), which keeps the primary
// key index's inserts at its right edge as the table grows.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// Only a failing random source gets here; v4 fails the same way.
		return uuid.NewString()
	}
	return id.String()
}
