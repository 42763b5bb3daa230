package authn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPublicJWK_RoundTripsThroughJSON(t *testing.T) {
	s := newSigner(t, "key-1")
	data, err := json.Marshal(JWKS{Keys: []JWK{PublicJWK(s.kid, s.pub)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"kty":"OKP"`, `"crv":"Ed25519"`, `"alg":"EdDSA"`, `"use":"sig"`, `"kid":"key-1"`} {
		if !strings.Contains(string(data), field) {
			t.Errorf("JWKS %s lacks %s", data, field)
		}
	}
	if strings.Contains(string(data), "=") {
		t.Errorf("JWKS %s has base64 padding", data)
	}

	var set JWKS
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	pub, err := set.Keys[0].PublicKey()
	if err != nil {
		t.Fatalf("PublicKey: %v", err)
	}
	if !pub.Equal(s.pub) {
		t.Error("round-tripped key differs from the original")
	}
}

func TestJWKPublicKey_RejectsKeysOtherThanEd25519Signing(t *testing.T) {
	s := newSigner(t, "key-1")
	good := PublicJWK(s.kid, s.pub)
	tests := []struct {
		name   string
		modify func(*JWK)
	}{
		{"RSA key type", func(k *JWK) { k.Kty = "RSA" }},
		{"EC key type", func(k *JWK) { k.Kty = "EC" }},
		{"X25519 curve", func(k *JWK) { k.Crv = "X25519" }},
		{"RS256 algorithm", func(k *JWK) { k.Alg = "RS256" }},
		{"HS256 algorithm", func(k *JWK) { k.Alg = "HS256" }},
		{"encryption use", func(k *JWK) { k.Use = "enc" }},
		{"short key", func(k *JWK) { k.X = base64.RawURLEncoding.EncodeToString(s.pub[:31]) }},
		{"long key", func(k *JWK) { k.X = base64.RawURLEncoding.EncodeToString(append(s.pub, 0)) }},
		{"padded base64", func(k *JWK) { k.X = base64.URLEncoding.EncodeToString(s.pub) }},
		{"standard base64 alphabet", func(k *JWK) { k.X = strings.NewReplacer("-", "+", "_", "/").Replace(k.X) + "+/" }},
		{"empty x", func(k *JWK) { k.X = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := good
			tt.modify(&k)
			if _, err := k.PublicKey(); err == nil {
				t.Errorf("PublicKey accepted %+v", k)
			}
		})
	}

	t.Run("use and alg may be absent", func(t *testing.T) {
		k := good
		k.Use, k.Alg = "", ""
		if _, err := k.PublicKey(); err != nil {
			t.Errorf("PublicKey: %v", err)
		}
	})
}

func TestHTTPKeySource_FetchesKeySet(t *testing.T) {
	s := newSigner(t, "key-1")
	ks := newKeyServer(t, s)
	set, err := NewHTTPKeySource(ks.URL, ks.Client()).JWKS(t.Context())
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	if len(set.Keys) != 1 || set.Keys[0] != PublicJWK(s.kid, s.pub) {
		t.Errorf("key set %+v, want the published key", set)
	}
}

func TestHTTPKeySource_RejectsBadAnswers(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr error
	}{
		{"server error", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, nil},
		{"not found", func(w http.ResponseWriter, _ *http.Request) {
			http.NotFound(w, nil)
		}, nil},
		{"not JSON", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("<html>login</html>"))
		}, nil},
		{"oversized", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"keys":[],"pad":"`))
			_, _ = w.Write([]byte(strings.Repeat("x", maxJWKSBytes)))
			_, _ = w.Write([]byte(`"}`))
		}, errTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			_, err := NewHTTPKeySource(srv.URL, srv.Client()).JWKS(t.Context())
			if err == nil {
				t.Fatal("JWKS succeeded, want error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestHTTPKeySource_HonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := NewHTTPKeySource(srv.URL, srv.Client()).JWKS(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want deadline exceeded", err)
	}
}
