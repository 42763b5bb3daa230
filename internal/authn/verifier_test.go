package authn

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

func TestVerify_AcceptsValidTokens(t *testing.T) {
	env := newVerifierEnv(t)
	now := env.clock.Now()
	tests := []struct {
		name   string
		modify func(*Claims)
		want   User
	}{
		{
			name: "employee",
			want: User{ID: "5f0c7a3e-8a44-4c52-9a4a-3b1b1a0c2d11", Role: RoleEmployee, TokenID: "jti-1"},
		},
		{
			name:   "agent",
			modify: func(c *Claims) { c.Role = RoleAgent },
			want:   User{ID: "5f0c7a3e-8a44-4c52-9a4a-3b1b1a0c2d11", Role: RoleAgent, TokenID: "jti-1"},
		},
		{
			name:   "admin",
			modify: func(c *Claims) { c.Role = RoleAdmin },
			want:   User{ID: "5f0c7a3e-8a44-4c52-9a4a-3b1b1a0c2d11", Role: RoleAdmin, TokenID: "jti-1"},
		},
		{
			name:   "service",
			modify: func(c *Claims) { c.Role, c.Subject = RoleService, "workflow" },
			want:   User{ID: "workflow", Role: RoleService, TokenID: "jti-1"},
		},
		{
			name:   "no jti",
			modify: func(c *Claims) { c.ID = "" },
			want:   User{ID: "5f0c7a3e-8a44-4c52-9a4a-3b1b1a0c2d11", Role: RoleEmployee},
		},
		{
			name:   "nbf in the past",
			modify: func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(-time.Minute)) },
			want:   User{ID: "5f0c7a3e-8a44-4c52-9a4a-3b1b1a0c2d11", Role: RoleEmployee, TokenID: "jti-1"},
		},
		{
			name:   "our audience among others",
			modify: func(c *Claims) { c.Audience = jwt.ClaimStrings{"other", testAudience} },
			want:   User{ID: "5f0c7a3e-8a44-4c52-9a4a-3b1b1a0c2d11", Role: RoleEmployee, TokenID: "jti-1"},
		},
		{
			name: "expired within the leeway",
			modify: func(c *Claims) {
				c.IssuedAt = jwt.NewNumericDate(now.Add(-15 * time.Minute))
				c.ExpiresAt = jwt.NewNumericDate(now.Add(-10 * time.Second))
			},
			want: User{ID: "5f0c7a3e-8a44-4c52-9a4a-3b1b1a0c2d11", Role: RoleEmployee, TokenID: "jti-1"},
		},
		{
			name:   "issued slightly in the future (clock skew)",
			modify: func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(10 * time.Second)) },
			want:   User{ID: "5f0c7a3e-8a44-4c52-9a4a-3b1b1a0c2d11", Role: RoleEmployee, TokenID: "jti-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := claimsAt(now)
			if tt.modify != nil {
				tt.modify(&claims)
			}
			got, err := env.verifier.Verify(t.Context(), env.signer.sign(t, claims))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.want {
				t.Errorf("user = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVerify_Rejects(t *testing.T) {
	env := newVerifierEnv(t)
	now := env.clock.Now()
	valid := env.validToken(t)
	stranger := newSigner(t, "key-1") // claims the published kid with another key
	unpublished := newSigner(t, "key-unpublished")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}

	// signWith signs claims with any method and key, setting the env's kid.
	signWith := func(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
		t.Helper()
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = env.signer.kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		return s
	}
	// withClaims signs valid claims changed by modify with the env's key.
	withClaims := func(modify func(*Claims)) func(*testing.T) string {
		return func(t *testing.T) string {
			c := claimsAt(now)
			modify(&c)
			return env.signer.sign(t, c)
		}
	}

	tests := []struct {
		name  string
		token func(t *testing.T) string
		// reason is the jwt error the rejection must carry in the detail
		// kept for logs; nil for the checks Verify makes itself.
		reason error
	}{
		{"alg none", func(t *testing.T) string {
			return signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claimsAt(now))
		}, jwt.ErrTokenSignatureInvalid},
		{"HS256 with the raw public key as HMAC secret", func(t *testing.T) string {
			return signWith(t, jwt.SigningMethodHS256, []byte(env.signer.pub), claimsAt(now))
		}, jwt.ErrTokenSignatureInvalid},
		{"HS256 with the JWK x value as HMAC secret", func(t *testing.T) string {
			return signWith(t, jwt.SigningMethodHS256, []byte(PublicJWK(env.signer.kid, env.signer.pub).X), claimsAt(now))
		}, jwt.ErrTokenSignatureInvalid},
		{"RS256", func(t *testing.T) string {
			return signWith(t, jwt.SigningMethodRS256, rsaKey, claimsAt(now))
		}, jwt.ErrTokenSignatureInvalid},
		{"unknown kid", func(t *testing.T) string { return unpublished.sign(t, claimsAt(now)) }, jwt.ErrTokenUnverifiable},
		{"known kid, other key", func(t *testing.T) string { return stranger.sign(t, claimsAt(now)) }, jwt.ErrTokenSignatureInvalid},
		{"no kid", func(t *testing.T) string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claimsAt(now)).SignedString(env.signer.priv)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwt.ErrTokenUnverifiable},
		{"kid not a string", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claimsAt(now))
			tok.Header["kid"] = 1
			s, err := tok.SignedString(env.signer.priv)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwt.ErrTokenUnverifiable},
		{"expired", withClaims(func(c *Claims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(-2 * time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour))
		}), jwt.ErrTokenExpired},
		{"not yet valid", withClaims(func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), jwt.ErrTokenNotValidYet},
		{"issued in the future", withClaims(func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }), jwt.ErrTokenUsedBeforeIssued},
		{"no exp", withClaims(func(c *Claims) { c.ExpiresAt = nil }), jwt.ErrTokenRequiredClaimMissing},
		{"no iat", withClaims(func(c *Claims) { c.IssuedAt = nil }), nil},
		{"wrong issuer", withClaims(func(c *Claims) { c.Issuer = "https://evil.test/auth" }), jwt.ErrTokenInvalidIssuer},
		{"no issuer", withClaims(func(c *Claims) { c.Issuer = "" }), jwt.ErrTokenRequiredClaimMissing},
		{"wrong audience", withClaims(func(c *Claims) { c.Audience = jwt.ClaimStrings{"billing"} }), jwt.ErrTokenInvalidAudience},
		{"no audience", withClaims(func(c *Claims) { c.Audience = nil }), jwt.ErrTokenRequiredClaimMissing},
		{"no role", withClaims(func(c *Claims) { c.Role = "" }), nil},
		{"unknown role", withClaims(func(c *Claims) { c.Role = "superuser" }), nil},
		{"role in other case", withClaims(func(c *Claims) { c.Role = "Admin" }), nil},
		{"no sub", withClaims(func(c *Claims) { c.Subject = "" }), nil},
		{"tampered payload", func(t *testing.T) string { return tamperRole(t, valid, RoleAdmin) }, jwt.ErrTokenSignatureInvalid},
		{"tampered signature", func(t *testing.T) string {
			parts := strings.Split(valid, ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			sig[0] ^= 0x01
			parts[2] = base64.RawURLEncoding.EncodeToString(sig)
			return strings.Join(parts, ".")
		}, jwt.ErrTokenSignatureInvalid},
		{"non-canonical base64 signature", func(t *testing.T) string {
			// A 64-byte signature leaves 4 unused bits in its last
			// character; a lenient decoder ignores them, so the
			// signature would still check out.
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, valid[len(valid)-1])
			return valid[:len(valid)-1] + string(alphabet[last^1])
		}, jwt.ErrTokenMalformed},
		{"signature stripped", func(t *testing.T) string { return valid[:strings.LastIndexByte(valid, '.')+1] }, jwt.ErrTokenSignatureInvalid},
		{"empty", func(*testing.T) string { return "" }, nil},
		{"garbage", func(*testing.T) string { return "not a token" }, jwt.ErrTokenMalformed},
		{"three empty segments", func(*testing.T) string { return ".." }, jwt.ErrTokenMalformed},
		{"three junk segments", func(*testing.T) string { return "a.b.c" }, jwt.ErrTokenMalformed},
		{"oversized", func(*testing.T) string { return valid + strings.Repeat("A", maxTokenBytes) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token(t)
			_, err := env.verifier.Verify(t.Context(), token)
			requireUnauthorized(t, err)
			wantExpired := tt.reason == jwt.ErrTokenExpired
			if got := err.(*apperr.Error).Message == "token has expired"; got != wantExpired {
				t.Errorf("message %q, want expired = %v", err.(*apperr.Error).Message, wantExpired)
			}
			if tt.reason != nil {
				if _, detail := env.verifier.verify(t.Context(), token); !errors.Is(detail, tt.reason) {
					t.Errorf("rejected for %v, want %v", detail, tt.reason)
				}
			}
		})
	}
	// Sanity check: the rejections above are not down to a broken setup.
	if _, err := env.verifier.Verify(t.Context(), valid); err != nil {
		t.Fatalf("valid token rejected: %v", err)
	}
}

// tamperRole rewrites the role in token's payload, keeping its signature.
func tamperRole(t testing.TB, token string, role Role) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["role"] = string(role)
	payload, err = json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestVerify_AcceptsEveryKeyOfTheSet(t *testing.T) {
	c := newClock()
	old, current := newSigner(t, "key-old"), newSigner(t, "key-new")
	ks := newKeyServer(t, old, current)
	v := NewVerifier(NewHTTPKeySource(ks.URL, ks.Client()), testIssuer, testAudience, WithClock(c.Now))

	for _, s := range []signer{old, current, old} {
		u, err := v.Verify(t.Context(), s.sign(t, claimsAt(c.Now())))
		if err != nil {
			t.Fatalf("token of %s: %v", s.kid, err)
		}
		if u.Role != RoleEmployee {
			t.Errorf("token of %s: role %q", s.kid, u.Role)
		}
	}
	if got := ks.count(); got != 1 {
		t.Errorf("key set fetched %d times, want 1", got)
	}
}

func TestVerify_NewKidTriggersOneRefetch(t *testing.T) {
	env := newVerifierEnv(t)
	if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	// A minute later, well within the cache TTL, the auth service rotates:
	// a new key is published and signs tokens while the old one is still
	// cached here.
	env.clock.Advance(time.Minute)
	next := newSigner(t, "key-2")
	env.keys.publish(next)
	token := next.sign(t, claimsAt(env.clock.Now()))
	if _, err := env.verifier.Verify(t.Context(), token); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if _, err := env.verifier.Verify(t.Context(), token); err != nil {
		t.Fatalf("token of the new key, again: %v", err)
	}
	if got := env.keys.count(); got != 2 {
		t.Errorf("key set fetched %d times, want 2 (initial + one refetch)", got)
	}
}

func TestVerify_UnknownKidsRefetchAtMostOncePerInterval(t *testing.T) {
	env := newVerifierEnv(t, WithRefetchInterval(10*time.Second))
	if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	forge := func(i int) string {
		return newSigner(t, fmt.Sprintf("forged-%d", i)).sign(t, claimsAt(env.clock.Now()))
	}

	for i := range 20 {
		_, err := env.verifier.Verify(t.Context(), forge(i))
		requireUnauthorized(t, err)
	}
	if got := env.keys.count(); got != 1 {
		t.Fatalf("after forged kids within the interval: %d fetches, want 1", got)
	}

	env.clock.Advance(10 * time.Second)
	for i := range 20 {
		_, err := env.verifier.Verify(t.Context(), forge(100+i))
		requireUnauthorized(t, err)
	}
	if got := env.keys.count(); got != 2 {
		t.Fatalf("after the interval passed: %d fetches, want 2", got)
	}

	// Known kids keep verifying from the cache meanwhile.
	if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	if got := env.keys.count(); got != 2 {
		t.Errorf("valid token caused a fetch: %d fetches, want 2", got)
	}
}

func TestVerify_RefetchesAfterTTL(t *testing.T) {
	env := newVerifierEnv(t, WithCacheTTL(5*time.Minute))
	for _, step := range []struct {
		advance time.Duration
		fetches int64
	}{
		{0, 1},
		{4*time.Minute + 59*time.Second, 1},
		{time.Second, 2},
		{time.Minute, 2},
	} {
		env.clock.Advance(step.advance)
		if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if got := env.keys.count(); got != step.fetches {
			t.Fatalf("at %v: %d fetches, want %d", env.clock.Now().Sub(testStart), got, step.fetches)
		}
	}
}

func TestVerify_RetiredKeyIsRejectedAfterRefetch(t *testing.T) {
	c := newClock()
	old, current := newSigner(t, "key-old"), newSigner(t, "key-new")
	ks := newKeyServer(t, old, current)
	v := NewVerifier(NewHTTPKeySource(ks.URL, ks.Client()), testIssuer, testAudience, WithClock(c.Now))
	if _, err := v.Verify(t.Context(), old.sign(t, claimsAt(c.Now()))); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	ks.mu.Lock()
	ks.keys = []JWK{PublicJWK(current.kid, current.pub)}
	ks.mu.Unlock()
	c.Advance(defaultCacheTTL)

	_, err := v.Verify(t.Context(), old.sign(t, claimsAt(c.Now())))
	requireUnauthorized(t, err)
	if _, err := v.Verify(t.Context(), current.sign(t, claimsAt(c.Now()))); err != nil {
		t.Fatalf("current key: %v", err)
	}
}

func TestVerify_SourceFailureKeepsWarmCache(t *testing.T) {
	env := newVerifierEnv(t)
	if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	env.keys.setFailing(true)

	// Past the TTL the verifier tries to refresh, fails, and keeps the
	// keys it has.
	env.clock.Advance(defaultCacheTTL + time.Second)
	if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
		t.Fatalf("Verify with failing source: %v", err)
	}
	if got := env.keys.count(); got != 2 {
		t.Fatalf("%d fetches, want 2", got)
	}
	// It does not retry on every request while the source is down...
	for range 10 {
		if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
			t.Fatalf("Verify with failing source: %v", err)
		}
	}
	if got := env.keys.count(); got != 2 {
		t.Fatalf("%d fetches within the refetch interval, want 2", got)
	}
	// ...but once per interval, and recovers when the source does.
	env.clock.Advance(defaultRefetchInterval)
	env.keys.setFailing(false)
	if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
		t.Fatalf("Verify after recovery: %v", err)
	}
	if got := env.keys.count(); got != 3 {
		t.Fatalf("%d fetches after the interval, want 3", got)
	}
}

func TestVerify_SourceFailureWithColdCacheIsAnOutage(t *testing.T) {
	env := newVerifierEnv(t)
	env.keys.setFailing(true)

	// Not 401: the token may be fine, and a client would sign its user out.
	_, err := env.verifier.Verify(t.Context(), env.validToken(t))
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Unavailable || ae.RetryAfter <= 0 {
		t.Fatalf("Verify with no key set = %v, want unavailable with a retry hint", err)
	}
	// The detail, for the logs, names the outage rather than the token.
	_, err = env.verifier.verify(t.Context(), env.validToken(t))
	if !errors.Is(err, errKeysUnavailable) {
		t.Errorf("detailed error %v, want errKeysUnavailable", err)
	}
}

func TestVerify_SkipsUnusableKeysOfTheSet(t *testing.T) {
	c := newClock()
	good := newSigner(t, "key-good")
	ks := newKeyServer(t, good)
	ks.mu.Lock()
	ks.keys = append([]JWK{
		{Kty: "RSA", Kid: "key-rsa", Alg: "RS256", Use: "sig"},
		{Kty: "OKP", Crv: "Ed25519", Kid: "key-short", X: "AAAA"},
		{Kty: "OKP", Crv: "Ed25519", X: PublicJWK("", good.pub).X}, // no kid
	}, ks.keys...)
	ks.mu.Unlock()
	v := NewVerifier(NewHTTPKeySource(ks.URL, ks.Client()), testIssuer, testAudience, WithClock(c.Now))

	if _, err := v.Verify(t.Context(), good.sign(t, claimsAt(c.Now()))); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestVerify_EmptyKeySetDoesNotReplaceCache(t *testing.T) {
	env := newVerifierEnv(t)
	if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	env.keys.mu.Lock()
	env.keys.keys = nil
	env.keys.mu.Unlock()
	env.clock.Advance(defaultCacheTTL)

	if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
		t.Fatalf("Verify after an empty key set: %v", err)
	}
}

func TestVerify_ConcurrentCallersShareOneFetch(t *testing.T) {
	env := newVerifierEnv(t)
	token := env.validToken(t)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if _, err := env.verifier.Verify(context.Background(), token); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Verify: %v", err)
	}
	if got := env.keys.count(); got != 1 {
		t.Errorf("%d fetches, want 1", got)
	}
}

func TestVerify_CancelledCallerDoesNotFailTheFetch(t *testing.T) {
	env := newVerifierEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := env.verifier.Verify(ctx, env.validToken(t))
	requireUnauthorized(t, err)
	// The fetch the cancelled caller started still completes and fills the
	// cache for the next caller.
	if _, err := env.verifier.Verify(t.Context(), env.validToken(t)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got := env.keys.count(); got != 1 {
		t.Errorf("%d fetches, want 1", got)
	}
}

// staticKeys is a KeySource without a network, for fuzzing.
type staticKeys JWKS

func (s staticKeys) JWKS(context.Context) (JWKS, error) { return JWKS(s), nil }

func FuzzVerify(f *testing.F) {
	c := newClock()
	s := newSigner(f, "key-1")
	v := NewVerifier(staticKeys{Keys: []JWK{PublicJWK(s.kid, s.pub)}}, testIssuer, testAudience, WithClock(c.Now))
	valid := s.sign(f, claimsAt(c.Now()))

	none := jwt.NewWithClaims(jwt.SigningMethodNone, claimsAt(c.Now()))
	none.Header["kid"] = s.kid
	noneToken, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		f.Fatal(err)
	}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsAt(c.Now()))
	hs.Header["kid"] = s.kid
	hsToken, err := hs.SignedString([]byte(s.pub))
	if err != nil {
		f.Fatal(err)
	}

	for _, seed := range []string{
		valid, noneToken, hsToken, tamperRole(f, valid, RoleAdmin),
		"", ".", "..", "a.b.c", "eyJhbGciOiJFZERTQSJ9..", valid + ".", "." + valid,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		u, err := v.Verify(t.Context(), token)
		if err == nil {
			// Base64 is decoded strictly and Ed25519 signatures are not
			// malleable, so only the very token we signed may pass.
			if token != valid {
				t.Fatalf("Verify accepted a token we did not sign: %q => %+v", token, u)
			}
			return
		}
		requireUnauthorized(t, err)
	})
}
