package auth

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// The web app never sees the refresh token: login and refresh also set it in
// a cookie that no script can read (HttpOnly), and POST /auth/refresh and
// /auth/logout take it from there when the JSON body carries none. The JSON
// answer still holds the refresh token, for API clients that keep it
// themselves; the web app ignores it.
//
// The cookie is scoped to Path=/auth (the narrowest path that covers both
// /auth/refresh and /auth/logout), lives as long as the refresh token, and is
// SameSite=Strict. It is Secure when the request came over TLS (directly, or
// as X-Forwarded-Proto https from the trusted gateway) or PUBLIC_URL is
// https, and then carries the __Secure- prefix, which browsers refuse to
// accept over plain HTTP or without Secure, so a network attacker cannot
// plant one. (__Host- would need Path=/.) In plain-HTTP development the
// cookie has no prefix and no Secure flag, and a secure request reads only
// the prefixed name.
//
// CSRF: a cookie that authenticates invites cross-site requests, so a
// refresh or logout that relies on the cookie must (1) come with the cookie,
// which SameSite=Strict keeps off every request started by another site,
// and (2) say Content-Type: application/json, which an HTML form cannot
// send and which a cross-origin script can send only after a CORS preflight
// that this API never grants. Either alone would do; together they also
// cover browsers that ignore SameSite. And even a forged refresh would only
// rotate the token into a cookie the attacker cannot read: the new access
// token goes to the caller, which the same-origin policy keeps from reading
// the answer.
const (
	// RefreshCookie names the cookie on secure origins.
	RefreshCookie = "__Secure-ticketflow-refresh"
	// RefreshCookieInsecure names it in plain-HTTP development.
	RefreshCookieInsecure = "ticketflow-refresh"
	// RefreshCookiePath is the cookie's path: the auth API.
	RefreshCookiePath = Prefix
)

// WithPublicURL makes refresh cookies Secure when the web app is served over
// https, whatever the request looks like (e.g. TLS ends at a load balancer
// that is not a trusted proxy).
func (h *Handler) WithPublicURL(publicURL string) *Handler {
	if u, err := url.Parse(publicURL); err == nil {
		h.publicHTTPS = strings.EqualFold(u.Scheme, "https")
	}
	return h
}

// secureRequest tells whether the browser reached us over https.
func (h *Handler) secureRequest(r *http.Request) bool {
	if r.TLS != nil || h.publicHTTPS {
		return true
	}
	return h.trustProxy && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// refreshCookieName is the cookie's name for r: only the __Secure- one is
// set or read over https.
func (h *Handler) refreshCookieName(r *http.Request) string {
	if h.secureRequest(r) {
		return RefreshCookie
	}
	return RefreshCookieInsecure
}

// setRefreshCookie puts the refresh token of pair into the cookie.
func (h *Handler) setRefreshCookie(w http.ResponseWriter, r *http.Request, pair TokenPair) {
	if pair.RefreshToken == "" {
		return
	}
	ttl := h.svc.cfg.RefreshTTL
	http.SetCookie(w, &http.Cookie{
		Name:     h.refreshCookieName(r),
		Value:    pair.RefreshToken,
		Path:     RefreshCookiePath,
		MaxAge:   max(1, int(ttl/time.Second)),
		HttpOnly: true,
		Secure:   h.secureRequest(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// clearRefreshCookie tells the browser to drop the cookie.
func (h *Handler) clearRefreshCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     h.refreshCookieName(r),
		Value:    "",
		Path:     RefreshCookiePath,
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   h.secureRequest(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// refreshFromCookie returns the refresh token of the cookie, "" without one.
// A request that relies on the cookie must declare a JSON body (see the CSRF
// note above).
func (h *Handler) refreshFromCookie(r *http.Request) (string, error) {
	c, err := r.Cookie(h.refreshCookieName(r))
	if err != nil || c.Value == "" {
		return "", nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", apperr.New(apperr.UnsupportedType, "a refresh by cookie must be sent as application/json")
	}
	if len(c.Value) > 200 {
		return "", errBadRefresh
	}
	return c.Value, nil
}
