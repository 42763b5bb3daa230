// Package apperr defines the handful of error kinds that every Ticketflow
// service speaks, so that one mapper can turn any error into the right HTTP
// status and a problem document without leaking internals.
package apperr

import (
	"errors"
	"fmt"
)

// Code is the kind of an application error.
type Code string

// The error kinds. Anything that is not an *Error is Internal.
const (
	Invalid         Code = "invalid"            // 400: malformed request
	Unauthorized    Code = "unauthorized"       // 401: no or bad credentials
	Forbidden       Code = "forbidden"          // 403: authenticated, not allowed
	NotFound        Code = "not_found"          // 404
	NotAllowed      Code = "method_not_allowed" // 405
	Conflict        Code = "conflict"           // 409: state conflict (duplicate, illegal transition)
	TooLarge        Code = "too_large"          // 413
	UnsupportedType Code = "unsupported_type"   // 415
	Unprocessable   Code = "unprocessable"      // 422: well-formed but semantically wrong
	TooManyRequests Code = "too_many"           // 429
	Unavailable     Code = "unavailable"        // 503
	Internal        Code = "internal"           // 500
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error meant to be shown to the caller: its Message is safe to
// display, and Code decides the HTTP status.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// RetryAfter, in seconds, is sent as a Retry-After header when positive.
	RetryAfter int
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// New returns an *Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithFields returns an error of the given code listing the invalid fields.
func WithFields(code Code, message string, fields ...FieldError) *Error {
	return &Error{Code: code, Message: message, Fields: fields}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }
