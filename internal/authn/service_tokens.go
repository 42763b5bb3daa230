package authn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// refreshMargin is how long before expiry a cached service token is
	// replaced, so a token never expires between Token and its use.
	refreshMargin = time.Minute
	// tokenTimeout bounds one token request even when the caller's client
	// has no timeout.
	tokenTimeout = 10 * time.Second
	// maxTokenResponseBytes caps the token response we are willing to read.
	maxTokenResponseBytes = 64 << 10
)

// TokenSource yields a bearer token to authenticate outgoing requests with.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// ServiceTokenSource gets service tokens from the auth service with the
// OAuth 2 client credentials grant and caches each until a minute before it
// expires. It is safe for concurrent use; concurrent callers share one
// request to the auth service.
type ServiceTokenSource struct {
	url          string
	clientID     string
	clientSecret string
	client       *http.Client
	now          func() time.Time // time.Now but in tests

	mu        sync.Mutex
	token     string
	expiresAt time.Time
	refreshAt time.Time
	inflight  *tokenFetch
}

// tokenFetch is one token request. Its fields are written before done is
// closed and only read after.
type tokenFetch struct {
	done  chan struct{}
	token string
	err   error
}

// NewServiceTokenSource returns a source of service tokens for clientID from
// the auth service at authURL (for example "http://auth:8081"; the token
// endpoint is authURL + "/auth/token"). A nil client means one with a 10 s
// timeout.
func NewServiceTokenSource(authURL, clientID, clientSecret string, client *http.Client) *ServiceTokenSource {
	if client == nil {
		client = &http.Client{Timeout: tokenTimeout}
	}
	return &ServiceTokenSource{
		url:          strings.TrimSuffix(authURL, "/") + "/auth/token",
		clientID:     clientID,
		clientSecret: clientSecret,
		client:       client,
		now:          time.Now,
	}
}

// Token returns a valid service token, from the cache when it has one not
// due for refresh. If a refresh fails while the cached token has not yet
// expired, that token is returned, so a short auth outage does not stop
// service-to-service calls.
func (s *ServiceTokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.token != "" && s.now().Before(s.refreshAt) {
		token := s.token
		s.mu.Unlock()
		return token, nil
	}
	f := s.inflight
	if f == nil {
		f = s.startFetch(ctx)
	}
	s.mu.Unlock()

	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("get service token: %w", ctx.Err())
	}
}

// startFetch requests a new token; s.mu must be held. The request runs
// detached from ctx's cancellation so that one caller giving up does not fail
// the others waiting for it.
func (s *ServiceTokenSource) startFetch(ctx context.Context) *tokenFetch {
	f := &tokenFetch{done: make(chan struct{})}
	s.inflight = f
	go func() {
		defer close(f.done)
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenTimeout)
		defer cancel()
		token, expiresAt, err := s.fetch(fctx)

		s.mu.Lock()
		defer s.mu.Unlock()
		s.inflight = nil
		switch {
		case err == nil:
			s.token, s.expiresAt = token, expiresAt
			s.refreshAt = refreshTime(s.now(), expiresAt)
			f.token = token
		case s.token != "" && s.now().Before(s.expiresAt):
			f.token = s.token
		default:
			f.err = err
		}
	}()
	return f
}

// refreshTime is when a token obtained at now and expiring at expiresAt
// should be replaced: refreshMargin before expiry, or halfway through its
// life for tokens too short-lived for that margin, so they are still cached.
func refreshTime(now, expiresAt time.Time) time.Time {
	margin := min(refreshMargin, expiresAt.Sub(now)/2)
	return expiresAt.Add(-margin)
}

type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetch asks the auth service for a token and returns it with its expiry.
// Errors never contain the client secret.
func (s *ServiceTokenSource) fetch(ctx context.Context) (string, time.Time, error) {
	body, err := json.Marshal(tokenRequest{
		GrantType:    "client_credentials",
		ClientID:     s.clientID,
		ClientSecret: s.clientSecret,
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("encode token request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("request service token: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// Measured before sending, so network delay shortens, never lengthens,
	// the life we assume the token has.
	sent := s.now()
	resp, err := s.client.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("request service token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxTokenResponseBytes))
		return "", time.Time{}, fmt.Errorf("request service token from %s for client %q: status %s", s.url, s.clientID, resp.Status)
	}
	tr, err := decodeLimited[tokenResponse](resp.Body, maxTokenResponseBytes)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read service token response: %w", err)
	}
	switch {
	case tr.AccessToken == "":
		return "", time.Time{}, errors.New("service token response has no access_token")
	case !strings.EqualFold(tr.TokenType, "Bearer"):
		return "", time.Time{}, fmt.Errorf("service token type %q is not Bearer", tr.TokenType)
	case tr.ExpiresIn <= 0:
		return "", time.Time{}, fmt.Errorf("service token expires_in %d is not positive", tr.ExpiresIn)
	}
	return tr.AccessToken, sent.Add(time.Duration(tr.ExpiresIn) * time.Second), nil
}

// Transport is an http.RoundTripper that sends each request with
// "Authorization: Bearer" and a token from Source, for service-to-service
// HTTP clients:
//
//	client := &http.Client{Transport: &authn.Transport{Source: tokens}, Timeout: 10 * time.Second}
type Transport struct {
	// Source supplies the tokens, usually a *ServiceTokenSource.
	Source TokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper. As its contract asks, it leaves
// req untouched (it sends a clone) and closes the body even on failure.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	token, err := t.Source.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("authenticate %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	out := req.Clone(req.Context())
	out.Header.Set("Authorization", "Bearer "+token)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(out)
}
