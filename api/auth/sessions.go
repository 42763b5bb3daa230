package auth

import (
	"net/http"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

type loginRequest struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required"`
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := httpx.Decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	pair, err := h.svc.Login(r.Context(), req.Email, req.Password, h.clientAddr(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	noStore(w)
	h.setRefreshCookie(w, r, pair)
	httpx.JSON(w, http.StatusOK, pair)
}

// refreshRequest carries the refresh token of an API client; the web app
// sends none and relies on the cookie (refresh_cookie.go).
type refreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"max=200"`
}

// refreshToken reads the token of a refresh or logout: the JSON body's, or
// else the cookie's. fromCookie tells which.
func (h *Handler) refreshToken(r *http.Request) (token string, fromCookie bool, err error) {
	var req refreshRequest
	if err := httpx.Decode(r, &req); err != nil {
		return "", false, err
	}
	if req.RefreshToken != "" {
		return req.RefreshToken, false, nil
	}
	token, err = h.refreshFromCookie(r)
	return token, token != "", err
}

func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) {
	token, fromCookie, err := h.refreshToken(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if token == "" {
		h.fail(w, r, apperr.New(apperr.Unauthorized, "no refresh token: sign in again"))
		return
	}
	pair, err := h.svc.Refresh(r.Context(), token)
	if err != nil {
		if fromCookie && apperr.CodeOf(err) == apperr.Unauthorized {
			// The cookie is spent for good: drop it.
			h.clearRefreshCookie(w, r)
		}
		h.fail(w, r, err)
		return
	}
	noStore(w)
	h.setRefreshCookie(w, r, pair)
	httpx.JSON(w, http.StatusOK, pair)
}

// logout revokes the session of the body's or the cookie's refresh token
// and clears the cookie; without either there is nothing to revoke.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	token, _, err := h.refreshToken(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if token != "" {
		if err := h.svc.Logout(r.Context(), token); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.clearRefreshCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

type tokenRequest struct {
	GrantType    string `json:"grant_type" validate:"required"`
	ClientID     string `json:"client_id" validate:"required,max=64"`
	ClientSecret string `json:"client_secret" validate:"required,max=200"`
}

// serviceToken is the client-credentials grant for service accounts.
func (h *Handler) serviceToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := httpx.Decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if req.GrantType != "client_credentials" {
		h.fail(w, r, apperr.WithFields(apperr.Invalid, "unsupported grant type",
			apperr.FieldError{Field: "grant_type", Message: "must be client_credentials"}))
		return
	}
	pair, err := h.svc.ServiceToken(r.Context(), req.ClientID, req.ClientSecret)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	noStore(w)
	httpx.JSON(w, http.StatusOK, pair)
}

// noStore keeps token answers out of every cache (RFC 6749 §5.1).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
