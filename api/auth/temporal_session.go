package auth

import (
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
)

// The gateway serves the Temporal UI under /temporal/ to admins only: nginx
// asks GET /auth/verify-admin (auth_request) before every request there. A
// browser's navigation cannot carry a bearer token, so the web app first
// trades the admin's access token for a cookie with POST
// /auth/temporal-session; the cookie is scoped to /temporal, HttpOnly,
// Secure and SameSite=Strict, and holds a JWT signed with auth's own keys
// for a dedicated audience, so that it is never accepted as an access token
// and no new secret is needed.
const (
	// TemporalSessionCookie names the cookie; the __Secure- prefix makes
	// browsers refuse it over plain HTTP.
	TemporalSessionCookie = "__Secure-ticketflow-temporal"
	// TemporalSessionPath is the cookie's path: the gateway's Temporal UI.
	TemporalSessionPath = "/temporal"
	// TemporalSessionTTL is how long a Temporal UI session lasts.
	TemporalSessionTTL = 15 * time.Minute
	// temporalAudienceSuffix turns the access tokens' audience into the
	// sessions' one, e.g. "ticketflow/temporal-ui".
	temporalAudienceSuffix = "/temporal-ui"
)

// temporalSessions issues and checks Temporal UI sessions.
type temporalSessions struct {
	h        *Handler
	audience string
	// verifier checks session cookies: same issuer and keys as access
	// tokens, the session audience only.
	verifier *authn.Verifier
	// byBearer answers a request that carries an access token instead.
	byBearer http.Handler
}

func newTemporalSessions(h *Handler) *temporalSessions {
	aud := h.svc.cfg.Audience + temporalAudienceSuffix
	admitted := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return &temporalSessions{
		h:        h,
		audience: aud,
		verifier: authn.NewVerifier(h.keys, h.svc.cfg.Issuer, aud),
		byBearer: h.verifier.Middleware(h.log)(authn.RequireRole(h.log, authn.RoleAdmin)(admitted)),
	}
}

// create answers POST /temporal-session (admins, behind the bearer
// middleware) with 204 and the session cookie. The role is read again from
// the database, so an admin demoted a minute ago gets no session with a
// token that still says admin.
func (s *temporalSessions) create(w http.ResponseWriter, r *http.Request) {
	caller := authn.MustUser(r.Context())
	u, err := s.h.svc.User(r.Context(), caller.ID)
	if err != nil {
		s.h.fail(w, r, err)
		return
	}
	if !u.Active || u.Role != authn.RoleAdmin {
		s.h.fail(w, r, apperr.New(apperr.Forbidden, "only admins may open the Temporal UI"))
		return
	}
	now := s.h.svc.now()
	token, err := s.h.keys.Sign(r.Context(), authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.h.svc.cfg.Issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{s.audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(TemporalSessionTTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Role: u.Role,
	})
	if err != nil {
		s.h.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     TemporalSessionCookie,
		Value:    token,
		Path:     TemporalSessionPath,
		MaxAge:   int(TemporalSessionTTL / time.Second),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// verifyAdmin answers GET /verify-admin, nginx's auth_request: 204 for an
// admin's session cookie or access token, 401 without a valid one, 403 for
// anyone else. A request with an Authorization header is judged by it alone.
func (s *temporalSessions) verifyAdmin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("Authorization") != "" {
		s.byBearer.ServeHTTP(w, r)
		return
	}
	c, err := r.Cookie(TemporalSessionCookie)
	if err != nil || c.Value == "" {
		s.h.fail(w, r, apperr.New(apperr.Unauthorized, "sign in as an admin first"))
		return
	}
	u, err := s.verifier.Verify(r.Context(), c.Value)
	if err != nil {
		s.h.fail(w, r, err)
		return
	}
	if u.Role != authn.RoleAdmin {
		s.h.fail(w, r, apperr.New(apperr.Forbidden, "only admins may open the Temporal UI"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
