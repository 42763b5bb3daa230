// Package authntest stands in for the identity provider in tests: an
// Ed25519 key that signs access tokens the way auth issues them and serves
// as a verifier's key source.
package authntest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/internal/authn"
)

// Issuer and Audience of the tokens a Signer signs.
const (
	Issuer   = "ticketflow-test"
	Audience = "ticketflow-test"
)

// Signer is a signing key with its key ID.
type Signer struct {
	kid  string
	priv ed25519.PrivateKey
}

// NewSigner returns a Signer with a fresh key.
func NewSigner(t testing.TB) *Signer {
	t.Helper()
	s, err := GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// GenerateSigner is NewSigner for code without a testing.TB.
func GenerateSigner() (*Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return &Signer{kid: "test-" + uuid.NewString()[:8], priv: priv}, nil
}

// JWKS implements authn.KeySource.
func (s *Signer) JWKS(context.Context) (authn.JWKS, error) {
	return authn.JWKS{Keys: []authn.JWK{authn.PublicJWK(s.kid, s.priv.Public().(ed25519.PublicKey))}}, nil
}

// Verifier returns a verifier that accepts this Signer's tokens.
func (s *Signer) Verifier() *authn.Verifier { return authn.NewVerifier(s, Issuer, Audience) }

// Token returns an access token for subject with role, valid 15 minutes.
func (s *Signer) Token(t testing.TB, subject string, role authn.Role) string {
	t.Helper()
	tok, err := s.TokenFor(subject, role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TokenFor is Token for code without a testing.TB.
func (s *Signer) TokenFor(subject string, role authn.Role) (string, error) {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
			ID:        uuid.NewString(),
		},
		Role: role,
	})
	tok.Header["kid"] = s.kid
	signed, err := tok.SignedString(s.priv)
	if err != nil {
		return "", fmt.Errorf("sign test token: %w", err)
	}
	return signed, nil
}
