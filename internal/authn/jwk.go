package authn

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// JWK is one public key of a JSON Web Key set (RFC 7517), in the only shape
// Ticketflow uses: an Ed25519 signing key (RFC 8037, kty "OKP").
type JWK struct {
	Kty string `json:"kty"` // key type, "OKP"
	Crv string `json:"crv"` // curve, "Ed25519"
	X   string `json:"x"`   // public key, base64url without padding
	Kid string `json:"kid"` // key ID, matched against a token's kid header
	Use string `json:"use"` // "sig"
	Alg string `json:"alg"` // "EdDSA"
}

// JWKS is a JSON Web Key set as served at /auth/.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicJWK describes pub as the signing key kid, ready to publish in a JWKS.
func PublicJWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{
		Kty: "OKP",
		Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(pub),
		Kid: kid,
		Use: "sig",
		Alg: "EdDSA",
	}
}

// PublicKey returns the Ed25519 key k describes. It refuses anything but an
// Ed25519 signature key, so a key published for another purpose or algorithm
// can never verify a Ticketflow token. An absent use or alg is accepted, as
// RFC 7517 makes both optional.
func (k JWK) PublicKey() (ed25519.PublicKey, error) {
	switch {
	case k.Kty != "OKP":
		return nil, fmt.Errorf("jwk %q: key type %q is not OKP", k.Kid, k.Kty)
	case k.Crv != "Ed25519":
		return nil, fmt.Errorf("jwk %q: curve %q is not Ed25519", k.Kid, k.Crv)
	case k.Alg != "" && k.Alg != "EdDSA":
		return nil, fmt.Errorf("jwk %q: algorithm %q is not EdDSA", k.Kid, k.Alg)
	case k.Use != "" && k.Use != "sig":
		return nil, fmt.Errorf("jwk %q: use %q is not sig", k.Kid, k.Use)
	}
	// RawURLEncoding rejects padding; Strict rejects non-zero trailing bits,
	// so each key has exactly one accepted spelling.
	x, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
	if err != nil {
		return nil, fmt.Errorf("jwk %q: decode x: %w", k.Kid, err)
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("jwk %q: x is %d bytes, want %d", k.Kid, len(x), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

// KeySource yields the current key set of the token issuer.
type KeySource interface {
	JWKS(ctx context.Context) (JWKS, error)
}

const (
	// keySourceTimeout bounds one key set request even when the caller's
	// client has no timeout, so a hung auth service cannot hang verification.
	keySourceTimeout = 10 * time.Second
	// maxJWKSBytes is far above any real key set (a key is about 150 bytes)
	// and keeps a misbehaving server from filling our memory.
	maxJWKSBytes = 1 << 20
)

// NewHTTPKeySource returns a KeySource that GETs the key set from url, such
// as "http://auth:8081/auth/.well-known/jwks.json". A nil client means one
// with a 10 s timeout.
func NewHTTPKeySource(url string, client *http.Client) KeySource {
	if client == nil {
		client = &http.Client{Timeout: keySourceTimeout}
	}
	return &httpKeySource{url: url, client: client}
}

type httpKeySource struct {
	url    string
	client *http.Client
}

func (s *httpKeySource) JWKS(ctx context.Context) (JWKS, error) {
	ctx, cancel := context.WithTimeout(ctx, keySourceTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return JWKS{}, fmt.Errorf("fetch key set: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return JWKS{}, fmt.Errorf("fetch key set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return JWKS{}, fmt.Errorf("fetch key set from %s: status %s", s.url, resp.Status)
	}
	set, err := decodeLimited[JWKS](resp.Body, maxJWKSBytes)
	if err != nil {
		return JWKS{}, fmt.Errorf("fetch key set from %s: %w", s.url, err)
	}
	return set, nil
}

// errTooLarge reports a response body over its limit.
var errTooLarge = errors.New("response body too large")

// decodeLimited decodes one JSON value from r, failing rather than
// truncating when r holds more than limit bytes.
func decodeLimited[T any](r io.Reader, limit int64) (T, error) {
	var v T
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return v, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return v, fmt.Errorf("%w: over %d bytes", errTooLarge, limit)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("decode body: %w", err)
	}
	return v, nil
}
