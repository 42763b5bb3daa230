// Package auth is Ticketflow's identity provider: accounts and roles,
// password sign-in, access tokens (EdDSA JWTs) with rotating refresh tokens,
// the JWKS every service verifies against, service accounts for calls
// between services, and the user.created / user.updated events through which
// every other service follows who is an agent or an admin.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// EventSource is the CloudEvents source of the events auth publishes.
const EventSource = "/auth"

// Config holds what the service needs to issue tokens.
type Config struct {
	Issuer     string
	Audience   string
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// PasswordResetTTL is how long a password reset link works; zero
	// means DefaultPasswordResetTTL.
	PasswordResetTTL time.Duration
}

// Service implements the identity provider's use cases. Its methods are
// what the HTTP handlers and the `ticketflow admin` commands call.
type Service struct {
	pool    *pgxpool.Pool
	events  *outbox.Writer // runs the transactions that write events
	keys    *KeyStore
	limiter *LoginLimiter
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	dummy   string
}

// NewService returns the auth service.
func NewService(pool *pgxpool.Pool, keys *KeyStore, limiter *LoginLimiter, cfg Config, log *slog.Logger) *Service {
	return &Service{pool: pool, events: outbox.NewWriter(pool), keys: keys, limiter: limiter, cfg: cfg, log: log, now: time.Now, dummy: dummyHash()}
}

// TokenPair is the answer of a sign-in or a refresh.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// NewUser is an account to create.
type NewUser struct {
	Email    string     `json:"email" validate:"required,max=254"`
	Password string     `json:"password" validate:"required"`
	Name     string     `json:"name" validate:"required,max=200"`
	Role     authn.Role `json:"-"`
}

// validEmail accepts a bare address (no display name, no comments), as
// normalized by NormalizeEmail.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Contains(s[strings.LastIndex(s, "@")+1:], ".")
}

// NormalizeEmail returns the canonical form e-mails are stored and looked up in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CheckPassword returns an Unprocessable error when password is too weak.
func CheckPassword(password, email string) error {
	n := len([]rune(password))
	switch {
	case n < MinPasswordLength:
		return apperr.WithFields(apperr.Unprocessable, "the password is too weak",
			apperr.FieldError{Field: "password", Message: fmt.Sprintf("must be at least %d characters long", MinPasswordLength)})
	case n > MaxPasswordLength:
		return apperr.WithFields(apperr.Unprocessable, "the password is too long",
			apperr.FieldError{Field: "password", Message: fmt.Sprintf("must be at most %d characters long", MaxPasswordLength)})
	case strings.EqualFold(password, email) || strings.TrimSpace(password) == "":
		return apperr.WithFields(apperr.Unprocessable, "the password is too weak",
			apperr.FieldError{Field: "password", Message: "must not be the e-mail address or blank"})
	}
	return nil
}

// Register creates an employee account, as anyone may.
func (s *Service) Register(ctx context.Context, in NewUser) (User, error) {
	in.Role = authn.RoleEmployee
	return s.CreateUser(ctx, in)
}

// CreateUser creates an account with the given role and publishes
// user.created in the same transaction.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (User, error) {
	in.Email = NormalizeEmail(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	if !validEmail(in.Email) {
		return User{}, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields", apperr.FieldError{Field: "email", Message: "must be an e-mail address"})
	}
	if !in.Role.Valid() {
		return User{}, apperr.WithFields(apperr.Unprocessable, "unknown role", apperr.FieldError{Field: "role", Message: "must be employee, agent or admin"})
	}
	if in.Name == "" {
		return User{}, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields", apperr.FieldError{Field: "name", Message: "is required"})
	}
	if err := CheckPassword(in.Password, in.Email); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.events.InTx(ctx, func(tx pgx.Tx) error {
		if u, err = insertUser(ctx, tx, uuid.NewString(), in.Email, in.Name, in.Role, &hash); err != nil {
			return err
		}
		return publishUser(ctx, tx, events.UserCreated, u)
	})
	if err != nil {
		return User{}, err
	}
	logging.FromContext(ctx, s.log).Info("user created", "user_id", u.ID, "role", u.Role)
	return u, nil
}

// UserEvent is the data of user.created and user.updated.
type UserEvent struct {
	ID     string     `json:"id"`
	Email  string     `json:"email"`
	Name   string     `json:"name"`
	Role   authn.Role `json:"role"`
	Active bool       `json:"active"`
}

func publishUser(ctx context.Context, tx pgx.Tx, typ string, u User) error {
	e, err := events.New(EventSource, typ, u.ID, UserEvent{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Active: u.Active})
	if err != nil {
		return fmt.Errorf("%s event: %w", typ, err)
	}
	return outbox.Write(ctx, tx, e)
}

// errBadCredentials is the one answer to a wrong e-mail, a wrong password
// and a deactivated account, so none can be told apart.
var errBadCredentials = apperr.New(apperr.Unauthorized, "the e-mail or password is wrong")

// Login checks a password and opens a session: a new refresh-token family.
func (s *Service) Login(ctx context.Context, email, password, clientAddr string) (TokenPair, error) {
	email = NormalizeEmail(email)
	if err := s.limiter.Allow(ctx, email, clientAddr); err != nil {
		return TokenPair{}, err
	}
	if len(password) > 4*MaxPasswordLength {
		password = password[:4*MaxPasswordLength]
	}
	c, found, err := credentialsByEmail(ctx, s.pool, email)
	if err != nil {
		return TokenPair{}, err
	}
	hash := s.dummy
	if found && c.PasswordHash != nil {
		hash = *c.PasswordHash
	}
	ok, err := checkPassword(hash, password)
	if err != nil {
		return TokenPair{}, fmt.Errorf("check password of %s: %w", c.ID, err)
	}
	if !found || c.PasswordHash == nil || !ok || !c.Active {
		if err := s.limiter.Failed(ctx, email, clientAddr); err != nil {
			logging.FromContext(ctx, s.log).Warn("count failed login", "err", err)
		}
		return TokenPair{}, errBadCredentials
	}
	if err := s.limiter.Succeeded(ctx, email); err != nil {
		logging.FromContext(ctx, s.log).Warn("reset login count", "err", err)
	}
	var pair TokenPair
	err = postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		pair, err = s.issue(ctx, tx, c.User, uuid.NewString())
		return err
	})
	return pair, err
}

// issue signs an access token for u and stores a new refresh token in family.
func (s *Service) issue(ctx context.Context, tx pgx.Tx, u User, family string) (TokenPair, error) {
	access, err := s.accessToken(ctx, u.ID, u.Role)
	if err != nil {
		return TokenPair{}, err
	}
	refresh, hash, err := newOpaqueToken()
	if err != nil {
		return TokenPair{}, err
	}
	if err := insertRefreshToken(ctx, tx, family, u.ID, hash, s.now().Add(s.cfg.RefreshTTL)); err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds())}, nil
}

func (s *Service) accessToken(ctx context.Context, subject string, role authn.Role) (string, error) {
	now := s.now()
	return s.keys.Sign(ctx, authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.cfg.Issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{s.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Role: role,
	})
}

var errBadRefresh = apperr.New(apperr.Unauthorized, "the refresh token is invalid or expired")

// Refresh rotates a refresh token: the presented one is spent and a new pair
// is issued in the same family. Presenting a spent token again revokes the
// whole family: one of its holders is not the user.
func (s *Service) Refresh(ctx context.Context, token string) (TokenPair, error) {
	var (
		pair  TokenPair
		reuse bool
	)
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		t, found, err := refreshTokenByHash(ctx, tx, hashToken(token))
		if err != nil {
			return err
		}
		if !found || t.RevokedAt != nil || !s.now().Before(t.ExpiresAt) {
			return errBadRefresh
		}
		if t.RotatedAt != nil {
			// Commit the revocation, then refuse.
			reuse = true
			return revokeFamily(ctx, tx, t.FamilyID)
		}
		u, err := userByID(ctx, tx, t.UserID, false)
		if err != nil {
			return err
		}
		if !u.Active {
			return errBadRefresh
		}
		if err := markRotated(ctx, tx, t.ID); err != nil {
			return err
		}
		pair, err = s.issue(ctx, tx, u, t.FamilyID)
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	if reuse {
		logging.FromContext(ctx, s.log).Warn("refresh token reused: session family revoked")
		return TokenPair{}, errBadRefresh
	}
	return pair, nil
}

// Logout ends the session the refresh token belongs to. An unknown token is
// not an error: the session is over either way.
func (s *Service) Logout(ctx context.Context, token string) error {
	return postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		t, found, err := refreshTokenByHash(ctx, tx, hashToken(token))
		if err != nil || !found {
			return err
		}
		return revokeFamily(ctx, tx, t.FamilyID)
	})
}

// User returns one account.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	if uuid.Validate(id) != nil {
		return User{}, apperr.New(apperr.NotFound, "no such user")
	}
	return userByID(ctx, s.pool, id, false)
}

// ListUsers returns a page of accounts, oldest first, and the position after
// it when there may be more.
func (s *Service) ListUsers(ctx context.Context, f UserFilter) ([]User, *userPosition, error) {
	limit := f.Limit
	f.Limit = limit + 1
	users, err := listUsers(ctx, s.pool, f)
	if err != nil {
		return nil, nil, err
	}
	if len(users) <= limit {
		return users, nil, nil
	}
	last := users[limit-1]
	return users[:limit], &userPosition{Created: last.CreatedAt, ID: last.ID}, nil
}

// UserPatch is an admin's change to an account; nil fields stay as they are.
type UserPatch struct {
	Role   *authn.Role `json:"role"`
	Active *bool       `json:"active"`
	Name   *string     `json:"name" validate:"omitempty,min=1,max=200"`
}

// UpdateUser applies an admin's change and publishes user.updated when
// anything changed. A deactivated user's sessions end at once. Admins cannot
// demote or deactivate themselves, so the last admin cannot lock everyone out.
func (s *Service) UpdateUser(ctx context.Context, actor authn.User, id string, p UserPatch) (User, error) {
	if uuid.Validate(id) != nil {
		return User{}, apperr.New(apperr.NotFound, "no such user")
	}
	if p.Role != nil && !p.Role.Valid() {
		return User{}, apperr.WithFields(apperr.Unprocessable, "unknown role", apperr.FieldError{Field: "role", Message: "must be employee, agent or admin"})
	}
	if id == actor.ID && ((p.Role != nil && *p.Role != authn.RoleAdmin) || (p.Active != nil && !*p.Active)) {
		return User{}, apperr.New(apperr.Conflict, "admins cannot demote or deactivate themselves")
	}
	var u User
	err := s.events.InTx(ctx, func(tx pgx.Tx) error {
		old, err := userByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		u = old
		if p.Role != nil {
			u.Role = *p.Role
		}
		if p.Active != nil {
			u.Active = *p.Active
		}
		if p.Name != nil {
			u.Name = strings.TrimSpace(*p.Name)
		}
		if u.Role == old.Role && u.Active == old.Active && u.Name == old.Name {
			return nil
		}
		if u, err = updateUser(ctx, tx, u); err != nil {
			return err
		}
		if !u.Active {
			if err := revokeUserTokens(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		return publishUser(ctx, tx, events.UserUpdated, u)
	})
	if err != nil {
		return User{}, err
	}
	logging.FromContext(ctx, s.log).Info("user updated", "user_id", u.ID, "role", u.Role, "active", u.Active, "by", actor.ID)
	return u, nil
}

var errBadClient = apperr.New(apperr.Unauthorized, "the client credentials are wrong")

// ServiceToken exchanges a service account's credentials for an access
// token with the service role (OAuth 2.0 client credentials; no refresh
// token: the service asks again).
func (s *Service) ServiceToken(ctx context.Context, clientID, secret string) (TokenPair, error) {
	var (
		hash   []byte
		active bool
	)
	err := s.pool.QueryRow(ctx, `SELECT secret_hash, active FROM service_accounts WHERE client_id = $1`, clientID).Scan(&hash, &active)
	if errors.Is(err, pgx.ErrNoRows) {
		return TokenPair{}, errBadClient
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("read service account: %w", err)
	}
	if !active || !equalHash(hash, hashToken(secret)) {
		return TokenPair{}, errBadClient
	}
	access, err := s.accessToken(ctx, clientID, authn.RoleService)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds())}, nil
}

// SetServiceAccount creates the service account clientID, or replaces its
// secret, and activates it. With an empty secret a random one is made;
// the secret is returned once and stored only as a hash.
func (s *Service) SetServiceAccount(ctx context.Context, clientID, secret string) (string, error) {
	if !validClientID(clientID) {
		return "", apperr.New(apperr.Unprocessable, "a client id is 3 to 64 lower-case letters, digits, '-' or '_'")
	}
	if secret == "" {
		var err error
		if secret, _, err = newOpaqueToken(); err != nil {
			return "", err
		}
	} else if len(secret) < 32 {
		return "", apperr.New(apperr.Unprocessable, "a service secret is at least 32 characters long")
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO service_accounts (client_id, secret_hash) VALUES ($1, $2)
		ON CONFLICT (client_id) DO UPDATE SET secret_hash = excluded.secret_hash, active = true`, clientID, hashToken(secret))
	if err != nil {
		return "", fmt.Errorf("store service account: %w", err)
	}
	return secret, nil
}
