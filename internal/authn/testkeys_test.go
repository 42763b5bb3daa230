package authn

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

const (
	testIssuer   = "https://ticketflow.test/auth"
	testAudience = "ticketflow"
)

// testStart is the fixed "now" every test clock starts at.
var testStart = time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)

// clock is a settable time source for WithClock and ServiceTokenSource.now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: testStart} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// signer is one Ed25519 signing key with its key ID.
type signer struct {
	kid  string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newSigner(t testing.TB, kid string) signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return signer{kid: kid, pub: pub, priv: priv}
}

// sign returns claims signed by s with s's kid in the header.
func (s signer) sign(t testing.TB, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = s.kid
	signed, err := tok.SignedString(s.priv)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return signed
}

// claimsAt returns valid claims for an employee, issued at now.
func claimsAt(now time.Time) Claims {
	return Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   "5f0c7a3e-8a44-4c52-9a4a-3b1b1a0c2d11",
			Issuer:    testIssuer,
			Audience:  jwt.ClaimStrings{testAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
			ID:        "jti-1",
		},
		Role: RoleEmployee,
	}
}

// keyServer serves a JWKS over real HTTP and counts the requests it gets.
type keyServer struct {
	*httptest.Server
	requests atomic.Int64

	mu   sync.Mutex
	keys []JWK
	fail bool
}

func newKeyServer(t testing.TB, signers ...signer) *keyServer {
	t.Helper()
	ks := &keyServer{}
	for _, s := range signers {
		ks.publish(s)
	}
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.requests.Add(1)
		ks.mu.Lock()
		defer ks.mu.Unlock()
		if ks.fail {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(JWKS{Keys: ks.keys})
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) publish(s signer) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.keys = append(ks.keys, PublicJWK(s.kid, s.pub))
}

func (ks *keyServer) setFailing(fail bool) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.fail = fail
}

func (ks *keyServer) count() int64 { return ks.requests.Load() }

// verifierEnv is a Verifier wired to a key server with one published key.
type verifierEnv struct {
	clock    *clock
	signer   signer
	keys     *keyServer
	verifier *Verifier
}

func newVerifierEnv(t testing.TB, opts ...Option) *verifierEnv {
	t.Helper()
	c := newClock()
	s := newSigner(t, "key-1")
	ks := newKeyServer(t, s)
	opts = append([]Option{WithClock(c.Now)}, opts...)
	return &verifierEnv{
		clock:    c,
		signer:   s,
		keys:     ks,
		verifier: NewVerifier(NewHTTPKeySource(ks.URL, ks.Client()), testIssuer, testAudience, opts...),
	}
}

// validToken returns a valid employee token signed by the env's key.
func (e *verifierEnv) validToken(t testing.TB) string {
	t.Helper()
	return e.signer.sign(t, claimsAt(e.clock.Now()))
}

// requireUnauthorized fails unless err is exactly an *apperr.Error with code
// Unauthorized and one of the short messages Verify may show.
func requireUnauthorized(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("Verify accepted the token, want rejection")
	}
	e, ok := err.(*apperr.Error)
	if !ok {
		t.Fatalf("error %T (%v), want *apperr.Error", err, err)
	}
	if e.Code != apperr.Unauthorized {
		t.Fatalf("code %q, want %q", e.Code, apperr.Unauthorized)
	}
	if e.Message != "invalid token" && e.Message != "token has expired" {
		t.Fatalf("message %q reveals too much", e.Message)
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		t.Fatal("errors.As does not find the *apperr.Error")
	}
}
