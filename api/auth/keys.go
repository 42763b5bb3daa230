package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// keyCacheTTL bounds how long a replica signs with a key another replica
// has rotated out, and how stale its published key set may be.
const keyCacheTTL = 30 * time.Second

// KeyStore keeps the Ed25519 signing keys in PostgreSQL, so they survive
// restarts and are shared by every auth replica. A rotated-in key is
// published publishLead before it signs, so verifiers, which refetch the key
// set at most every few seconds, know it before they meet its first token;
// retired keys stay published until the tokens they signed expire.
type KeyStore struct {
	pool        *pgxpool.Pool
	accessTTL   time.Duration
	publishLead time.Duration
	now         func() time.Time

	mu       sync.Mutex
	loadedAt time.Time
	signKID  string
	signKey  ed25519.PrivateKey
	set      authn.JWKS
}

// DefaultPublishLead is how long a new key is published before it signs:
// longer than the verifiers' refetch interval and the key store's own cache.
const DefaultPublishLead = time.Minute

// NewKeyStore returns a key store; call Ensure before signing.
func NewKeyStore(pool *pgxpool.Pool, accessTTL, publishLead time.Duration) *KeyStore {
	return &KeyStore{pool: pool, accessTTL: accessTTL, publishLead: publishLead, now: time.Now}
}

// Ensure makes sure an active signing key exists, and rotates it when it is
// older than maxAge (zero: never by age). Replicas starting together agree on
// one key: the check runs under a transaction-scoped advisory lock.
func (k *KeyStore) Ensure(ctx context.Context, maxAge time.Duration) error {
	err := postgres.InTx(ctx, k.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.signing_keys'))`); err != nil {
			return fmt.Errorf("lock signing keys: %w", err)
		}
		var created time.Time
		err := tx.QueryRow(ctx, `SELECT created_at FROM signing_keys WHERE retired_at IS NULL ORDER BY active_from DESC LIMIT 1`).Scan(&created)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// No key yet: nobody can hold a token, so it may sign at once.
			return rotate(ctx, tx, 0)
		case err != nil:
			return fmt.Errorf("read signing key: %w", err)
		case maxAge > 0 && k.now().Sub(created) > maxAge:
			return rotate(ctx, tx, k.publishLead)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return k.reload(ctx)
}

// Rotate makes a new signing key, which signs after the publish lead, and
// retires the current one, which keeps verifying until the tokens it signed
// have expired.
func (k *KeyStore) Rotate(ctx context.Context) error {
	if err := postgres.InTx(ctx, k.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.signing_keys'))`); err != nil {
			return fmt.Errorf("lock signing keys: %w", err)
		}
		return rotate(ctx, tx, k.publishLead)
	}); err != nil {
		return err
	}
	return k.reload(ctx)
}

// rotate adds a key that signs from now+lead on; the keys it replaces sign
// until then.
func rotate(ctx context.Context, tx pgx.Tx, lead time.Duration) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("key id: %w", err)
	}
	activeFrom := `now() + make_interval(secs => $1)`
	if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = `+activeFrom+` WHERE retired_at IS NULL`, lead.Seconds()); err != nil {
		return fmt.Errorf("retire signing keys: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (kid, private_key, active_from) VALUES ($2, $3, `+activeFrom+`)`,
		lead.Seconds(), hex.EncodeToString(id), priv.Seed()); err != nil {
		return fmt.Errorf("store signing key: %w", err)
	}
	return nil
}

// reload reads the signing key and the published set from the database.
func (k *KeyStore) reload(ctx context.Context) error {
	// A key retired now may still have signed a token that lives for the
	// access TTL; keep it published that long, plus a minute for clock skew.
	rows, err := k.pool.Query(ctx, `
		SELECT kid, private_key, active_from <= now() AND (retired_at IS NULL OR retired_at > now())
		FROM signing_keys
		WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
		ORDER BY active_from DESC`, (k.accessTTL + time.Minute).Seconds())
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	var (
		set     authn.JWKS
		signKID string
		signKey ed25519.PrivateKey
	)
	for rows.Next() {
		var (
			kid    string
			seed   []byte
			active bool
		)
		if err := rows.Scan(&kid, &seed, &active); err != nil {
			return fmt.Errorf("scan signing key: %w", err)
		}
		if len(seed) != ed25519.SeedSize {
			return fmt.Errorf("signing key %s: bad seed length %d", kid, len(seed))
		}
		priv := ed25519.NewKeyFromSeed(seed)
		set.Keys = append(set.Keys, authn.PublicJWK(kid, priv.Public().(ed25519.PublicKey)))
		if active && signKey == nil {
			signKID, signKey = kid, priv // the newest key that may sign now
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if signKey == nil {
		return errors.New("no active signing key (run migrations and start auth once)")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.set, k.signKID, k.signKey, k.loadedAt = set, signKID, signKey, k.now()
	return nil
}

func (k *KeyStore) fresh(ctx context.Context) error {
	k.mu.Lock()
	stale := k.signKey == nil || k.now().Sub(k.loadedAt) > keyCacheTTL
	k.mu.Unlock()
	if stale {
		return k.reload(ctx)
	}
	return nil
}

// Sign signs claims with the active key, naming it in the kid header.
func (k *KeyStore) Sign(ctx context.Context, claims jwt.Claims) (string, error) {
	if err := k.fresh(ctx); err != nil {
		return "", err
	}
	k.mu.Lock()
	kid, key := k.signKID, k.signKey
	k.mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// JWKS returns the public keys that verify current tokens; it makes the key
// store an authn.KeySource for auth's own routes.
func (k *KeyStore) JWKS(ctx context.Context) (authn.JWKS, error) {
	if err := k.fresh(ctx); err != nil {
		return authn.JWKS{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return authn.JWKS{Keys: append([]authn.JWK(nil), k.set.Keys...)}, nil
}
