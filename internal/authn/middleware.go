package authn

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// Middleware authenticates every request by its "Authorization: Bearer"
// token. A request without a valid token gets a 401 problem document; an
// authenticated one reaches next with the User in its context (see
// [UserFrom]) and user_id added to its logger (see logging.FromContext).
// log is the fallback when the request carries no logger of its own.
func (v *Verifier) Middleware(log *slog.Logger) func(http.Handler) http.Handler {
	log = orDiscard(log)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			reqLog := logging.FromContext(ctx, log)
			token, ok := bearerToken(r)
			if !ok {
				httpx.Error(w, r, log, apperr.New(apperr.Unauthorized, "missing bearer token"))
				return
			}
			u, err := v.verify(ctx, token)
			if err != nil {
				// A bad token is the caller's problem; not getting any key set
				// is ours and needs someone's attention.
				level := slog.LevelDebug
				if errors.Is(err, errKeysUnavailable) {
					level = slog.LevelWarn
				}
				reqLog.Log(ctx, level, "token rejected", "err", err)
				httpx.Error(w, r, log, unauthorized(err))
				return
			}
			ctx = WithUser(ctx, u)
			ctx = logging.WithLogger(ctx, reqLog.With("user_id", u.ID))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header. The scheme is case-insensitive (RFC 9110, section 11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// RequireRole lets a request through only when its user, set by
// [Verifier.Middleware], has one of roles: 401 without a user, 403 with
// another role.
func RequireRole(log *slog.Logger, roles ...Role) func(http.Handler) http.Handler {
	log = orDiscard(log)
	// Copied, so a caller reusing its slice cannot change what is allowed.
	allowed := slices.Clone(roles)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok := UserFrom(r.Context())
			if !ok {
				httpx.Error(w, r, log, apperr.New(apperr.Unauthorized, "authentication required"))
				return
			}
			if !slices.Contains(allowed, u.Role) {
				httpx.Error(w, r, log, apperr.New(apperr.Forbidden, "your role does not allow this"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// orDiscard returns log, or a logger that drops everything when log is nil,
// so a nil logger is never dereferenced.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
