package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
)

// userOf verifies token the way every other service does: against the
// JWKS served over HTTP.
func userOf(t *testing.T, e *env, token string) authn.User {
	t.Helper()
	v := authn.NewVerifier(authn.NewHTTPKeySource(e.srv.URL+"/auth/.well-known/jwks.json", http.DefaultClient), issuer, audience)
	u, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return u
}

func roleOf(t *testing.T, e *env, token string) authn.Role { return userOf(t, e, token).Role }

func (e *env) jwks() authn.JWKS {
	e.t.Helper()
	var set authn.JWKS
	r := e.do("GET", "/auth/.well-known/jwks.json", "", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("jwks: %d", r.status)
	}
	r.decode(e.t, &set)
	return set
}

func validClaims(sub string) authn.Claims {
	now := time.Now()
	return authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: issuer, Subject: sub, Audience: jwt.ClaimStrings{audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: uuid.NewString(),
		},
		Role: authn.RoleAdmin,
	}
}

func TestAccessToken_HostileTokensAreRejected(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.register("victim@example.com", "Victim")
	set := e.jwks()
	if len(set.Keys) != 1 || set.Keys[0].Kty != "OKP" || set.Keys[0].Crv != "Ed25519" || set.Keys[0].Kid == "" {
		t.Fatalf("jwks = %+v", set)
	}
	kid := set.Keys[0].Kid
	pub, err := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
	if err != nil {
		t.Fatal(err)
	}

	sign := func(mutate func(*authn.Claims)) string {
		c := validClaims(u.ID)
		mutate(&c)
		tok, err := e.keys.Sign(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// The control: a token signed by the real key with good claims passes.
	if r := e.do("GET", "/auth/me", sign(func(*authn.Claims) {}), nil); r.status != http.StatusOK {
		t.Fatalf("control token: %d %s", r.status, r.body)
	}

	none := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims(u.ID))
	none.Header["kid"] = kid
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims(u.ID))
	hs.Header["kid"] = kid
	hsTok, _ := hs.SignedString(pub)

	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	unknown := jwt.NewWithClaims(jwt.SigningMethodEdDSA, validClaims(u.ID))
	unknown.Header["kid"] = "not-a-key-of-ours"
	unknownTok, _ := unknown.SignedString(otherKey)
	samekid := jwt.NewWithClaims(jwt.SigningMethodEdDSA, validClaims(u.ID))
	samekid.Header["kid"] = kid
	samekidTok, _ := samekid.SignedString(otherKey)

	good := sign(func(c *authn.Claims) { c.Role = authn.RoleEmployee })
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	claims["role"] = "admin"
	forged, _ := json.Marshal(claims)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]

	for name, tok := range map[string]string{
		"expired":          sign(func(c *authn.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour)) }),
		"wrong issuer":     sign(func(c *authn.Claims) { c.Issuer = "evil" }),
		"wrong audience":   sign(func(c *authn.Claims) { c.Audience = jwt.ClaimStrings{"another-app"} }),
		"no role":          sign(func(c *authn.Claims) { c.Role = "" }),
		"made-up role":     sign(func(c *authn.Claims) { c.Role = "root" }),
		"alg none":         noneTok,
		"HS256 public key": hsTok,
		"unknown kid":      unknownTok,
		"foreign key":      samekidTok,
		"tampered payload": tampered,
		"garbage":          "not.a.token",
	} {
		t.Run(name, func(t *testing.T) {
			p := e.do("GET", "/auth/me", tok, nil).problem(t, http.StatusUnauthorized)
			if p.Code != "unauthorized" {
				t.Fatalf("code = %q", p.Code)
			}
		})
	}
}

func TestSigningKeys_RotatedKeyStillVerifies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.register("rotate@example.com", "Rotate")
	before := e.login(u.Email, u.password)
	oldKid := e.jwks().Keys[0].Kid

	if err := e.keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	set := e.jwks()
	if len(set.Keys) != 2 {
		t.Fatalf("after rotation the JWKS has %d keys, want 2", len(set.Keys))
	}
	after := e.login(u.Email, u.password)
	if kidOf(t, after.AccessToken) == oldKid {
		t.Fatal("new tokens are still signed with the retired key")
	}
	for _, tok := range []string{before.AccessToken, after.AccessToken} {
		if r := e.do("GET", "/auth/me", tok, nil); r.status != http.StatusOK {
			t.Fatalf("token of kid %s: %d %s", kidOf(t, tok), r.status, r.body)
		}
	}
	// Once its tokens have expired, a retired key is no longer published.
	if _, err := e.pool.Exec(ctx, `UPDATE signing_keys SET retired_at = now() - interval '1 day' WHERE kid = $1`, oldKid); err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Ensure(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if set := e.jwks(); len(set.Keys) != 1 || set.Keys[0].Kid == oldKid {
		t.Fatalf("JWKS still publishes the expired key: %+v", set)
	}
}

func TestSigningKeys_SurviveRestart(t *testing.T) {
	e := newEnv(t)
	kid := e.jwks().Keys[0].Kid
	// Ensure, as a restart does, keeps the key.
	if err := e.keys.Ensure(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := e.jwks().Keys; len(got) != 1 || got[0].Kid != kid {
		t.Fatalf("keys after restart = %+v, want only %s", got, kid)
	}
	if n := e.count(`SELECT count(*) FROM signing_keys`); n != 1 {
		t.Fatalf("signing keys = %d, want 1", n)
	}
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, &authn.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

func TestSigningKeys_NewKeyPublishedBeforeItSigns(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.register("lead@example.com", "Lead")
	oldKid := e.jwks().Keys[0].Kid
	keys := auth.NewKeyStore(e.pool, 15*time.Minute, time.Hour)
	if err := keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	set, err := keys.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys during the publish lead, want 2", len(set.Keys))
	}
	// Until the lead has passed, the old key signs.
	tok, err := keys.Sign(ctx, validClaims(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	if kid := kidOf(t, tok); kid != oldKid {
		t.Fatalf("signed with %s during the lead, want the old key %s", kid, oldKid)
	}
}
