package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// newOpaqueToken returns a 256-bit random token and the hash it is stored
// under.
func newOpaqueToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("random token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// refreshToken is a stored refresh token.
type refreshToken struct {
	ID        string
	FamilyID  string
	UserID    string
	ExpiresAt time.Time
	RotatedAt *time.Time
	RevokedAt *time.Time
}

func insertRefreshToken(ctx context.Context, q postgres.Querier, familyID, userID string, hash []byte, expires time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		uuid.NewString(), familyID, userID, hash, expires)
	if err != nil {
		return fmt.Errorf("store refresh token: %w", err)
	}
	return nil
}

// refreshTokenByHash locks and returns the token with that hash.
func refreshTokenByHash(ctx context.Context, q postgres.Querier, hash []byte) (refreshToken, bool, error) {
	var t refreshToken
	err := q.QueryRow(ctx, `SELECT id, family_id, user_id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`, hash).
		Scan(&t.ID, &t.FamilyID, &t.UserID, &t.ExpiresAt, &t.RotatedAt, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return refreshToken{}, false, nil
	}
	if err != nil {
		return refreshToken{}, false, fmt.Errorf("read refresh token: %w", err)
	}
	return t, true, nil
}

func markRotated(ctx context.Context, q postgres.Querier, id string) error {
	if _, err := q.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	return nil
}

func revokeFamily(ctx context.Context, q postgres.Querier, familyID string) error {
	if _, err := q.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, familyID); err != nil {
		return fmt.Errorf("revoke token family: %w", err)
	}
	return nil
}

func revokeUserTokens(ctx context.Context, q postgres.Querier, userID string) error {
	if _, err := q.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID); err != nil {
		return fmt.Errorf("revoke user tokens: %w", err)
	}
	return nil
}
