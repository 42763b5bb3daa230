package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Instance  string              `json:"instance,omitempty"`
	Code      apperr.Code         `json:"code"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
}

var statusOf = map[apperr.Code]int{
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Unauthorized:    http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.NotFound:        http.StatusNotFound,
	apperr.NotAllowed:      http.StatusMethodNotAllowed,
	apperr.Conflict:        http.StatusConflict,
	apperr.TooLarge:        http.StatusRequestEntityTooLarge,
	apperr.UnsupportedType: http.StatusUnsupportedMediaType,
	apperr.Unprocessable:   http.StatusUnprocessableEntity,
	apperr.TooManyRequests: http.StatusTooManyRequests,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	apperr.Internal:        http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for an error code.
func StatusOf(code apperr.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error writes err as application/problem+json. Internal errors are logged
// with the request's logger and shown to the caller only as "internal error";
// an outage of a dependency (see dependencyDown) is a 503 with Retry-After.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := apperr.CodeOf(err)
	if code == apperr.Internal && dependencyDown(err) {
		logging.FromContext(r.Context(), log).Warn("request failed: a dependency is unavailable", "err", err, "method", r.Method, "path", r.URL.Path)
		err = &apperr.Error{Code: apperr.Unavailable, Message: "a service this request needs is unavailable; try again shortly", RetryAfter: outageRetryAfter}
		code = apperr.Unavailable
	}
	status := StatusOf(code)
	p := Problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Code:      code,
		Instance:  r.URL.Path,
		RequestID: middleware.GetReqID(r.Context()),
	}
	if code == apperr.Internal {
		logging.FromContext(r.Context(), log).Error("request failed", "err", err, "method", r.Method, "path", r.URL.Path)
		p.Detail = "internal error"
	} else if e := (*apperr.Error)(nil); errors.As(err, &e) {
		p.Detail = e.Message
		p.Errors = e.Fields
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
		if code == apperr.Unauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ticketflow"`)
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}
