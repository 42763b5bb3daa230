package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// LoginLimiter counts failed logins per account and per client address in
// Redis (shared by all replicas), in fixed windows. Once either count
// reaches its limit, logins for that account or from that address are
// refused with 429 until the window ends.
type LoginLimiter struct {
	rdb        *redis.Client
	prefix     string
	perAccount int64
	perAddress int64
	window     time.Duration
}

// NewLoginLimiter returns a limiter whose keys start with prefix.
func NewLoginLimiter(rdb *redis.Client, prefix string, perAccount, perAddress int, window time.Duration) *LoginLimiter {
	return &LoginLimiter{rdb: rdb, prefix: prefix, perAccount: int64(perAccount), perAddress: int64(perAddress), window: window}
}

func (l *LoginLimiter) keys(email, addr string) (account, address string) {
	// Hash the e-mail so the keys do not spread addresses through Redis.
	sum := sha256.Sum256([]byte(email))
	return l.prefix + "login:account:" + hex.EncodeToString(sum[:12]), l.prefix + "login:addr:" + addr
}

// Allow returns a TooManyRequests error, with the seconds until the window
// ends, when the account or the address is over its limit. When Redis cannot
// be asked it refuses too: an outage must not open the door to guessing.
func (l *LoginLimiter) Allow(ctx context.Context, email, addr string) error {
	ak, ik := l.keys(email, addr)
	pipe := l.rdb.Pipeline()
	ac, ic := pipe.Get(ctx, ak), pipe.Get(ctx, ik)
	at, it := pipe.PTTL(ctx, ak), pipe.PTTL(ctx, ik)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return fmt.Errorf("login limiter: %w", &apperr.Error{Code: apperr.Unavailable, Message: "sign-in is briefly unavailable, try again shortly", RetryAfter: 5})
	}
	over := func(c *redis.StringCmd, ttl *redis.DurationCmd, limit int64) int {
		n, err := c.Int64()
		if err != nil || n < limit {
			return 0
		}
		return max(1, int(math.Ceil(ttl.Val().Seconds())))
	}
	if wait := max(over(ac, at, l.perAccount), over(ic, it, l.perAddress)); wait > 0 {
		return &apperr.Error{Code: apperr.TooManyRequests, Message: "too many failed sign-in attempts, try again later", RetryAfter: wait}
	}
	return nil
}

// Failed counts a failed attempt against the account and the address.
func (l *LoginLimiter) Failed(ctx context.Context, email, addr string) error {
	ak, ik := l.keys(email, addr)
	pipe := l.rdb.TxPipeline()
	for _, k := range []string{ak, ik} {
		pipe.Incr(ctx, k)
		pipe.ExpireNX(ctx, k, l.window)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("count failed login: %w", err)
	}
	return nil
}

// Succeeded clears the account's count; the address keeps its own, so one
// good password does not reset a spray across many accounts.
func (l *LoginLimiter) Succeeded(ctx context.Context, email string) error {
	ak, _ := l.keys(email, "")
	if err := l.rdb.Del(ctx, ak).Err(); err != nil {
		return fmt.Errorf("reset login count: %w", err)
	}
	return nil
}
