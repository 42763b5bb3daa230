package authn

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// Claims are the claims of a Ticketflow access token: sub, role, iss, aud,
// exp, iat and jti, and optionally nbf.
type Claims struct {
	jwt.RegisteredClaims
	Role Role `json:"role"`
}

const (
	defaultCacheTTL        = 5 * time.Minute
	defaultRefetchInterval = 10 * time.Second
	// defaultLeeway absorbs clock skew between the auth service and us;
	// without it a token could be rejected as issued in the future.
	defaultLeeway = 30 * time.Second
	// maxTokenBytes is far above a real access token (about 400 bytes) and
	// stops us from base64-decoding and JSON-parsing arbitrarily large input.
	maxTokenBytes = 8 << 10
)

// Option tunes a Verifier.
type Option func(*Verifier)

// WithCacheTTL sets how long a fetched key set is trusted before it is
// fetched again (default 5 minutes). Non-positive values are ignored.
func WithCacheTTL(d time.Duration) Option {
	return func(v *Verifier) {
		if d > 0 {
			v.ttl = d
		}
	}
}

// WithRefetchInterval sets the minimum time between two key set fetches
// (default 10 s). It bounds how often tokens with forged key IDs, or an
// unreachable auth service, make us call the auth service. Non-positive
// values are ignored.
func WithRefetchInterval(d time.Duration) Option {
	return func(v *Verifier) {
		if d > 0 {
			v.refetchEvery = d
		}
	}
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option {
	return func(v *Verifier) {
		if now != nil {
			v.now = now
		}
	}
}

// WithLeeway sets the clock skew tolerated on exp, nbf and iat (default
// 30 s). Negative values are ignored.
func WithLeeway(d time.Duration) Option {
	return func(v *Verifier) {
		if d >= 0 {
			v.leeway = d
		}
	}
}

// Verifier checks access tokens against the issuer's key set, which it
// caches. It is safe for concurrent use.
type Verifier struct {
	src          KeySource
	ttl          time.Duration
	refetchEvery time.Duration
	leeway       time.Duration
	now          func() time.Time
	parser       *jwt.Parser

	mu          sync.Mutex
	keys        map[string]ed25519.PublicKey // nil until the first successful fetch
	fetchedAt   time.Time                    // when keys were fetched
	lastAttempt time.Time                    // when a fetch last started, successful or not
	lastErr     error                        // why the last fetch failed, nil if it did not
	inflight    *keyFetch                    // the running fetch, which others wait for
}

// keyFetch is one key set fetch; done is closed when it has finished and
// the Verifier's cache reflects its result.
type keyFetch struct {
	done chan struct{}
}

// NewVerifier returns a Verifier accepting tokens from issuer for audience,
// signed by a key of src.
func NewVerifier(src KeySource, issuer, audience string, opts ...Option) *Verifier {
	v := &Verifier{
		src:          src,
		ttl:          defaultCacheTTL,
		refetchEvery: defaultRefetchInterval,
		leeway:       defaultLeeway,
		now:          time.Now,
	}
	for _, opt := range opts {
		opt(v)
	}
	v.parser = jwt.NewParser(
		// Only EdDSA: this is what rules out alg "none" and the HS256
		// confusion attack, whatever the token's header claims.
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
		// Canonical base64 only, so a token has exactly one valid spelling.
		jwt.WithStrictDecoding(),
	)
	return v
}

// Verify checks token and returns the user it was issued to. A rejected
// token is an *apperr.Error with code Unauthorized whose message reveals
// nothing beyond "invalid" or "expired"; the reason is only for our logs,
// through Middleware. When no key set could ever be fetched (auth is down
// and nothing is cached) the answer is Unavailable instead: the token may be
// fine, and a client told 401 would sign its user out over an outage.
func (v *Verifier) Verify(ctx context.Context, token string) (User, error) {
	u, err := v.verify(ctx, token)
	if err != nil {
		return User{}, unauthorized(err)
	}
	return u, nil
}

// errKeysUnavailable marks a failure to get any key set at all, which is an
// outage worth a warning rather than a bad token.
var errKeysUnavailable = errors.New("no key set available")

// verify is Verify with the detailed reason for a rejection.
func (v *Verifier) verify(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, errors.New("empty token")
	}
	if len(token) > maxTokenBytes {
		return User{}, fmt.Errorf("token of %d bytes is over %d", len(token), maxTokenBytes)
	}
	var claims Claims
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid header")
		}
		return v.key(ctx, kid)
	})
	if err != nil {
		return User{}, fmt.Errorf("verify token: %w", err)
	}
	// jwt checks iat only when present; ours are always issued with one.
	if claims.IssuedAt == nil {
		return User{}, errors.New("verify token: no iat claim")
	}
	if claims.Subject == "" {
		return User{}, errors.New("verify token: no sub claim")
	}
	if !claims.Role.Valid() && claims.Role != RoleService {
		return User{}, fmt.Errorf("verify token: role %q is not known", claims.Role)
	}
	return User{ID: claims.Subject, Role: claims.Role, TokenID: claims.ID}, nil
}

// unauthorized turns a rejection into the error shown to the caller. Telling
// "expired" apart is safe (jwt checks claims only after the signature) and
// lets clients refresh instead of logging the user out.
func unauthorized(err error) *apperr.Error {
	if errors.Is(err, errKeysUnavailable) {
		return &apperr.Error{Code: apperr.Unavailable, Message: "cannot check tokens right now, try again shortly", RetryAfter: 5}
	}
	if errors.Is(err, jwt.ErrTokenExpired) {
		return apperr.New(apperr.Unauthorized, "token has expired")
	}
	return apperr.New(apperr.Unauthorized, "invalid token")
}

// key returns the public key named kid. The key set is fetched when the
// cache is empty, older than the TTL or lacks kid, but never more than once
// per refetch interval, and by one fetch that concurrent callers share.
// When a fetch fails, the keys already cached go on being used.
func (v *Verifier) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	v.mu.Lock()
	now := v.now()
	if k, ok := v.keys[kid]; ok && now.Sub(v.fetchedAt) < v.ttl {
		v.mu.Unlock()
		return k, nil
	}
	fetch := v.inflight
	if fetch == nil && (v.lastAttempt.IsZero() || now.Sub(v.lastAttempt) >= v.refetchEvery) {
		fetch = v.startFetch(ctx, now)
	}
	v.mu.Unlock()

	if fetch != nil {
		select {
		case <-fetch.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for key set: %w", ctx.Err())
		}
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	if k, ok := v.keys[kid]; ok {
		return k, nil
	}
	if v.keys == nil {
		if v.lastErr != nil {
			return nil, fmt.Errorf("%w: %w", errKeysUnavailable, v.lastErr)
		}
		return nil, errKeysUnavailable
	}
	return nil, fmt.Errorf("unknown key %q", kid)
}

// startFetch starts fetching the key set; v.mu must be held. The fetch runs
// detached from ctx's cancellation so that one caller giving up does not fail
// the others waiting for it.
func (v *Verifier) startFetch(ctx context.Context, now time.Time) *keyFetch {
	f := &keyFetch{done: make(chan struct{})}
	v.inflight = f
	v.lastAttempt = now
	go func() {
		defer close(f.done)
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keySourceTimeout)
		defer cancel()
		keys, err := v.fetchKeys(fctx)

		v.mu.Lock()
		defer v.mu.Unlock()
		v.inflight = nil
		v.lastErr = err
		if err == nil {
			v.keys = keys
			v.fetchedAt = v.now()
		}
	}()
	return f
}

// fetchKeys gets the key set and indexes its usable keys by ID. Keys it
// cannot use are skipped, so one odd key does not lock everyone out; a set
// without any usable key is an error, so it cannot replace a good cache.
func (v *Verifier) fetchKeys(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	set, err := v.src.JWKS(ctx)
	if err != nil {
		return nil, fmt.Errorf("get key set: %w", err)
	}
	keys := make(map[string]ed25519.PublicKey, len(set.Keys))
	var skipped []error
	for _, k := range set.Keys {
		if k.Kid == "" {
			// Tokens name their key; a key without an ID can never be picked.
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("key set has no usable key: %w", errors.Join(skipped...))
		}
		return nil, errors.New("key set has no usable key")
	}
	return keys, nil
}
