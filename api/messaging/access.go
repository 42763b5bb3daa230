package messaging

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// Access is the helpdesk's answer to "may this user see this ticket", with
// the ticket's requester and assignee, which comment.created carries.
type Access struct {
	TicketID    string  `json:"ticket_id"`
	RequesterID string  `json:"requester_id"`
	AssigneeID  *string `json:"assignee_id"`
	Visible     bool    `json:"visible"`
}

// errNoTicket is the one answer to an unknown, malformed or invisible
// ticket ID, so none can be told apart.
var errNoTicket = apperr.New(apperr.NotFound, "no such ticket")

// errHelpdeskUnavailable answers a request whose access check could not be
// made: our failure, not a sign that the ticket does not exist.
var errHelpdeskUnavailable = &apperr.Error{
	Code:       apperr.Unavailable,
	Message:    "the ticket cannot be checked right now, try again shortly",
	RetryAfter: 5,
}

const (
	// accessTimeout bounds one question to the helpdesk.
	accessTimeout = 5 * time.Second
	// maxAccessResponse caps the answer we read.
	maxAccessResponse = 16 << 10
)

// accessChecker asks the helpdesk's internal access route and caches the
// positive answers in Redis. A ticket's answers share one hash, so a
// ticket event can drop all of them at once (see forget); each entry
// carries its own expiry because Redis 7.0 cannot expire a hash's fields.
type accessChecker struct {
	base   string
	http   *http.Client
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
	log    *slog.Logger
}

func newAccessChecker(base string, tokens authn.TokenSource, rdb *redis.Client, prefix string, ttl time.Duration, log *slog.Logger) *accessChecker {
	return &accessChecker{
		base:   base,
		http:   &http.Client{Timeout: accessTimeout, Transport: &authn.Transport{Source: tokens}},
		rdb:    rdb,
		prefix: prefix,
		ttl:    ttl,
		log:    log,
	}
}

// cachedAccess is one cache entry: the answer and when it expires.
type cachedAccess struct {
	Access
	ExpiresAt int64 `json:"exp"` // Unix milliseconds
}

func (c *accessChecker) key(ticketID string) string { return c.prefix + "messaging:access:" + ticketID }

func cacheField(u authn.User) string { return u.ID + ":" + string(u.Role) }

// check returns the access of u to the ticket, or errNoTicket when the
// ticket does not exist or u may not see it, or errHelpdeskUnavailable
// when the helpdesk could not be asked.
func (c *accessChecker) check(ctx context.Context, ticketID string, u authn.User) (Access, error) {
	if !validID(ticketID) || !validID(u.ID) || !u.Role.Valid() {
		return Access{}, errNoTicket
	}
	if a, ok := c.cached(ctx, ticketID, u); ok {
		return a, nil
	}
	a, err := c.ask(ctx, ticketID, u)
	if err != nil {
		return Access{}, err
	}
	if !a.Visible || a.TicketID != ticketID {
		return Access{}, errNoTicket
	}
	c.remember(ctx, a, u)
	return a, nil
}

// cached returns a live cached answer. Redis failing is a miss: the
// helpdesk can still answer.
func (c *accessChecker) cached(ctx context.Context, ticketID string, u authn.User) (Access, bool) {
	if c.ttl <= 0 {
		return Access{}, false
	}
	raw, err := c.rdb.HGet(ctx, c.key(ticketID), cacheField(u)).Bytes()
	if err != nil {
		if err != redis.Nil {
			logging.FromContext(ctx, c.log).Warn("access cache unavailable", "err", err)
		}
		return Access{}, false
	}
	var e cachedAccess
	if json.Unmarshal(raw, &e) != nil || time.Now().UnixMilli() >= e.ExpiresAt || !e.Visible {
		return Access{}, false
	}
	return e.Access, true
}

// remember caches a positive answer for the TTL. The hash itself expires a
// TTL after its last write, so a ticket nobody looks at leaves nothing.
func (c *accessChecker) remember(ctx context.Context, a Access, u authn.User) {
	if c.ttl <= 0 {
		return
	}
	raw, err := json.Marshal(cachedAccess{Access: a, ExpiresAt: time.Now().Add(c.ttl).UnixMilli()})
	if err != nil {
		return
	}
	pipe := c.rdb.TxPipeline()
	pipe.HSet(ctx, c.key(a.TicketID), cacheField(u), raw)
	pipe.PExpire(ctx, c.key(a.TicketID), c.ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		logging.FromContext(ctx, c.log).Warn("cache ticket access", "ticket_id", a.TicketID, "err", err)
	}
}

// forget drops every cached answer about a ticket, when an event says its
// assignee or requester may have changed.
func (c *accessChecker) forget(ctx context.Context, ticketID string) error {
	if err := c.rdb.Del(ctx, c.key(ticketID)).Err(); err != nil {
		return fmt.Errorf("forget cached access to ticket %s: %w", ticketID, err)
	}
	return nil
}

// ask calls GET /helpdesk/internal/tickets/{id}/access.
func (c *accessChecker) ask(ctx context.Context, ticketID string, u authn.User) (Access, error) {
	log := logging.FromContext(ctx, c.log).With("ticket_id", ticketID)
	q := url.Values{"user_id": {u.ID}, "role": {string(u.Role)}}
	target := c.base + "/helpdesk/internal/tickets/" + url.PathEscape(ticketID) + "/access?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return Access{}, fmt.Errorf("access request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		log.Warn("helpdesk access check failed", "err", err)
		return Access{}, fmt.Errorf("ask the helpdesk about ticket %s: %w: %w", ticketID, errHelpdeskUnavailable, err)
	}
	defer res.Body.Close()
	body := io.LimitReader(res.Body, maxAccessResponse)
	switch res.StatusCode {
	case http.StatusOK:
		var a Access
		if err := json.NewDecoder(body).Decode(&a); err != nil {
			log.Warn("helpdesk access answer unreadable", "err", err)
			return Access{}, fmt.Errorf("read the helpdesk's access answer for ticket %s: %w: %w", ticketID, errHelpdeskUnavailable, err)
		}
		return a, nil
	case http.StatusNotFound:
		_, _ = io.Copy(io.Discard, body)
		return Access{}, errNoTicket
	default:
		detail, _ := io.ReadAll(body)
		// 401 or 403 here means our service account is wrong: an outage
		// for our callers, and something for an operator to fix.
		log.Error("helpdesk refused the access check", "status", res.StatusCode, "detail", string(detail))
		return Access{}, fmt.Errorf("ask the helpdesk about ticket %s: status %d: %w", ticketID, res.StatusCode, errHelpdeskUnavailable)
	}
}
