package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// DefaultPasswordResetTTL is how long a reset link works when
// Config.PasswordResetTTL is zero.
const DefaultPasswordResetTTL = time.Hour

// resetAnswerTime is the least time a reset request takes. Asking for a
// reset of an existing account writes a row and an event; asking for an
// unknown one writes nothing. Every request is answered at this floor, so
// the answer's timing does not tell which accounts exist (the counterpart
// of login's dummy hash, which evens out the password check).
const resetAnswerTime = 250 * time.Millisecond

// PasswordResetAccepted is the one answer to every accepted reset request,
// whether or not the e-mail belongs to an account.
var PasswordResetAccepted = struct {
	Message string `json:"message"`
}{Message: "If an active account uses this e-mail address, we sent it a link to choose a new password."}

// PasswordResetEvent is the data of user.password_reset_requested: whom to
// mail the reset link, and its token. The token is a secret: the event is
// not in events.Types(), so webhooks never deliver it.
type PasswordResetEvent struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// The answers to a reset link that cannot be used. All are 400: the token
// holder learns why, and nothing changes.
var (
	errResetInvalid = apperr.New(apperr.Invalid, "this password reset link is not valid; ask for a new one")
	errResetUsed    = apperr.New(apperr.Invalid, "this password reset link was already used; ask for a new one")
	errResetExpired = apperr.New(apperr.Invalid, "this password reset link has expired; ask for a new one")
)

func (s *Service) resetTTL() time.Duration {
	if s.cfg.PasswordResetTTL > 0 {
		return s.cfg.PasswordResetTTL
	}
	return DefaultPasswordResetTTL
}

// RequestPasswordReset starts a password reset for the account of email:
// for an active account it stores a single-use reset, whose token only the
// user.password_reset_requested event carries (the notification service
// mails it). Unknown, deactivated and malformed e-mails change nothing, and
// the caller cannot tell them apart from an account: the answer is the
// same, after the same time. Requests are limited per e-mail and per
// client address (429).
func (s *Service) RequestPasswordReset(ctx context.Context, email, clientAddr string) error {
	email = NormalizeEmail(email)
	if err := s.allowResetRequest(ctx, email, clientAddr); err != nil {
		return err
	}
	floor := time.NewTimer(resetAnswerTime)
	defer floor.Stop()
	err := s.requestPasswordReset(ctx, email)
	select {
	case <-floor.C:
	case <-ctx.Done():
	}
	return err
}

func (s *Service) requestPasswordReset(ctx context.Context, email string) error {
	log := logging.FromContext(ctx, s.log)
	if err := scrubPublishedResetTokens(ctx, s.pool, ""); err != nil {
		log.Warn("scrub published reset tokens", "err", err)
	}
	if !validEmail(email) {
		return nil
	}
	c, found, err := credentialsByEmail(ctx, s.pool, email)
	if err != nil || !found {
		return err
	}
	if !c.Active {
		log.Info("password reset asked for a deactivated account; ignored", "user_id", c.ID)
		return nil
	}
	token, hash, err := newOpaqueToken()
	if err != nil {
		return err
	}
	expires := s.now().Add(s.resetTTL())
	err = s.events.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO password_resets (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)`,
			uuid.NewString(), c.ID, hash, expires); err != nil {
			return fmt.Errorf("store password reset of %s: %w", c.ID, err)
		}
		e, err := events.New(EventSource, events.UserPasswordResetRequested, c.ID,
			PasswordResetEvent{UserID: c.ID, Email: c.Email, Name: c.Name, Token: token, ExpiresAt: expires.UTC()})
		if err != nil {
			return err
		}
		return outbox.Write(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	log.Info("password reset requested", "user_id", c.ID)
	return nil
}

// allowResetRequest counts a reset request against the e-mail and the
// client address, in Redis windows of the login limits' size and counts,
// and refuses it (429) once either is over. Unlike login, every request
// counts: each one may send an e-mail. When Redis cannot be asked it
// refuses too, or an outage would open the door to mail bombing.
func (s *Service) allowResetRequest(ctx context.Context, email, addr string) error {
	l := s.limiter
	sum := sha256.Sum256([]byte(email))
	ak, ik := l.prefix+"reset:account:"+hex.EncodeToString(sum[:12]), l.prefix+"reset:addr:"+addr
	pipe := l.rdb.TxPipeline()
	ac, ic := pipe.Incr(ctx, ak), pipe.Incr(ctx, ik)
	pipe.ExpireNX(ctx, ak, l.window)
	pipe.ExpireNX(ctx, ik, l.window)
	at, it := pipe.PTTL(ctx, ak), pipe.PTTL(ctx, ik)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("reset limiter: %w", &apperr.Error{Code: apperr.Unavailable, Message: "password reset is briefly unavailable, try again shortly", RetryAfter: 5})
	}
	over := func(c *redis.IntCmd, ttl *redis.DurationCmd, limit int64) int {
		if c.Val() <= limit {
			return 0
		}
		return max(1, int(math.Ceil(ttl.Val().Seconds())))
	}
	if wait := max(over(ac, at, l.perAccount), over(ic, it, l.perAddress)); wait > 0 {
		return &apperr.Error{Code: apperr.TooManyRequests, Message: "too many password reset requests, try again later", RetryAfter: wait}
	}
	return nil
}

// scrubPublishedResetTokens removes the token from the reset events the
// relay has published already (of userID, or of everyone when it is
// empty): the outbox keeps published events for days, and the token has
// no business there once it is on its way to the notification service.
// Each reset request and each used reset cleans up this way.
func scrubPublishedResetTokens(ctx context.Context, q postgres.Querier, userID string) error {
	_, err := q.Exec(ctx, `
		UPDATE outbox SET payload = payload #- '{data,token}'
		WHERE type = $1 AND published_at IS NOT NULL AND payload #> '{data,token}' IS NOT NULL
		  AND ($2 = '' OR payload->>'subject' = $2)`, events.UserPasswordResetRequested, userID)
	if err != nil {
		return fmt.Errorf("scrub published reset tokens: %w", err)
	}
	return nil
}

// wellFormedResetToken reports whether token can be one newOpaqueToken
// made: 32 bytes in unpadded base64url.
func wellFormedResetToken(token string) bool {
	b, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(b) == 32
}

// passwordReset is a stored reset.
type passwordReset struct {
	ID        string
	UserID    string
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// ConfirmPasswordReset sets the password of the account a reset token was
// mailed to, and logs it out everywhere: the reset is spent, the user's
// other outstanding resets are revoked, and so is every refresh token. An
// account without a password (made by mail-in) gets its first one. A used,
// revoked, expired, unknown or malformed token, or one of a deactivated
// account, changes nothing (400); a weak password neither (422), and the
// token still works.
func (s *Service) ConfirmPasswordReset(ctx context.Context, token, password string) error {
	if !wellFormedResetToken(token) {
		return errResetInvalid
	}
	var u User
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var r passwordReset
		err := tx.QueryRow(ctx, `SELECT id, user_id, expires_at, used_at, revoked_at FROM password_resets WHERE token_hash = $1 FOR UPDATE`,
			hashToken(token)).Scan(&r.ID, &r.UserID, &r.ExpiresAt, &r.UsedAt, &r.RevokedAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return errResetInvalid
		case err != nil:
			return fmt.Errorf("read password reset: %w", err)
		case r.UsedAt != nil:
			return errResetUsed
		case r.RevokedAt != nil:
			return errResetInvalid
		case !s.now().Before(r.ExpiresAt):
			return errResetExpired
		}
		if u, err = userByID(ctx, tx, r.UserID, true); err != nil {
			return err
		}
		if !u.Active {
			return errResetInvalid
		}
		if err := CheckPassword(password, u.Email); err != nil {
			return err
		}
		hash, err := hashPassword(password)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, u.ID, hash); err != nil {
			return fmt.Errorf("set password of %s: %w", u.ID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE password_resets SET used_at = now() WHERE id = $1`, r.ID); err != nil {
			return fmt.Errorf("spend password reset: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE password_resets SET revoked_at = now() WHERE user_id = $1 AND id <> $2 AND used_at IS NULL AND revoked_at IS NULL`,
			u.ID, r.ID); err != nil {
			return fmt.Errorf("revoke other password resets: %w", err)
		}
		if err := revokeUserTokens(ctx, tx, u.ID); err != nil {
			return err
		}
		return scrubPublishedResetTokens(ctx, tx, u.ID)
	})
	if err != nil {
		return err
	}
	log := logging.FromContext(ctx, s.log)
	// The owner of the mailbox chose this password: a lockout from
	// someone's guessing ends with it.
	if err := s.limiter.Succeeded(ctx, u.Email); err != nil {
		log.Warn("reset login count", "err", err)
	}
	log.Info("password reset: new password set, sessions ended", "user_id", u.ID)
	return nil
}

type passwordResetRequest struct {
	Email string `json:"email" validate:"required,max=254"`
}

// requestPasswordReset answers 202 alike for every e-mail.
func (h *Handler) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	var req passwordResetRequest
	if err := httpx.Decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.RequestPasswordReset(r.Context(), req.Email, h.clientAddr(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusAccepted, PasswordResetAccepted)
}

type passwordResetConfirm struct {
	Token    string `json:"token" validate:"required,max=200"`
	Password string `json:"password" validate:"required"`
}

// confirmPasswordReset sets the new password: 204.
func (h *Handler) confirmPasswordReset(w http.ResponseWriter, r *http.Request) {
	var req passwordResetConfirm
	if err := httpx.Decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.ConfirmPasswordReset(r.Context(), req.Token, req.Password); err != nil {
		h.fail(w, r, err)
		return
	}
	noStore(w)
	w.WriteHeader(http.StatusNoContent)
}
