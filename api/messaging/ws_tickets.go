package messaging

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// WSTicketTTL is how long a WebSocket ticket may wait to be used.
const WSTicketTTL = 30 * time.Second

// wsTicketBytes is the entropy of a WebSocket ticket.
const wsTicketBytes = 32

// errBadWSTicket answers every WebSocket ticket that cannot be used.
var errBadWSTicket = apperr.New(apperr.Unauthorized, "the WebSocket ticket is missing, unknown, expired or already used")

// WSTicket is the answer of POST /ws-tickets.
type WSTicket struct {
	Ticket    string `json:"ticket"`
	ExpiresIn int    `json:"expires_in"` // seconds
}

// wsTicketHolder is who a WebSocket ticket was issued to.
type wsTicketHolder struct {
	UserID string     `json:"user_id"`
	Role   authn.Role `json:"role"`
}

// IssueWSTicket returns a single-use ticket that opens caller's WebSocket
// within WSTicketTTL. Browsers cannot set headers on a WebSocket, and an
// access token in the URL would end up in logs for its whole life; a
// ticket there is worth nothing once used or 30 s old. Redis keeps only
// its hash.
func (s *Service) IssueWSTicket(ctx context.Context, caller authn.User) (WSTicket, error) {
	raw := make([]byte, wsTicketBytes)
	if _, err := rand.Read(raw); err != nil {
		return WSTicket{}, fmt.Errorf("websocket ticket: %w", err)
	}
	ticket := base64.RawURLEncoding.EncodeToString(raw)
	holder, err := json.Marshal(wsTicketHolder{UserID: caller.ID, Role: caller.Role})
	if err != nil {
		return WSTicket{}, fmt.Errorf("websocket ticket: %w", err)
	}
	if err := s.rdb.Set(ctx, s.wsTicketKey(ticket), holder, WSTicketTTL).Err(); err != nil {
		return WSTicket{}, s.redisDown(ctx, "store websocket ticket", err)
	}
	return WSTicket{Ticket: ticket, ExpiresIn: int(WSTicketTTL / time.Second)}, nil
}

// redeemWSTicket spends a ticket and returns its holder. GETDEL makes the
// spending atomic: of two uses of one ticket, only one succeeds.
func (s *Service) redeemWSTicket(ctx context.Context, ticket string) (authn.User, error) {
	if raw, err := base64.RawURLEncoding.DecodeString(ticket); err != nil || len(raw) != wsTicketBytes {
		return authn.User{}, errBadWSTicket
	}
	holder, err := s.rdb.GetDel(ctx, s.wsTicketKey(ticket)).Bytes()
	if errors.Is(err, redis.Nil) {
		return authn.User{}, errBadWSTicket
	}
	if err != nil {
		return authn.User{}, s.redisDown(ctx, "redeem websocket ticket", err)
	}
	var h wsTicketHolder
	if err := json.Unmarshal(holder, &h); err != nil || !h.Role.Valid() {
		return authn.User{}, errBadWSTicket
	}
	return authn.User{ID: h.UserID, Role: h.Role}, nil
}

func (s *Service) wsTicketKey(ticket string) string {
	sum := sha256.Sum256([]byte(ticket))
	return s.cfg.RedisPrefix + "messaging:ws-ticket:" + hex.EncodeToString(sum[:])
}

// redisDown logs a failure of Redis and returns errRedisUnavailable
// wrapping it: the caller is told to retry, the operator why.
func (s *Service) redisDown(ctx context.Context, what string, err error) error {
	logging.FromContext(ctx, s.log).Warn(what+" failed", "err", err)
	return fmt.Errorf("%s: %w: %w", what, errRedisUnavailable, err)
}

// errRedisUnavailable answers a request that needed Redis while it failed.
var errRedisUnavailable = &apperr.Error{
	Code:       apperr.Unavailable,
	Message:    "live updates are briefly unavailable, try again shortly",
	RetryAfter: 5,
}
