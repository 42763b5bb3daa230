package httpx

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// outageRetryAfter is the Retry-After, in seconds, of a 503 for an outage.
const outageRetryAfter = 5

// dependencyDown reports whether err is an outage of something the request
// needed rather than a fault of the request or a bug: a server that
// refused or dropped the connection, or PostgreSQL shutting down or
// restarting. Such a request may well succeed moments later, so it is
// answered 503 with Retry-After, not 500 (the chaos suite restarts
// PostgreSQL under load and counts what callers saw).
func dependencyDown(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08: connection exception; 57P: operator intervention
		// (admin or crash shutdown, cannot connect now).
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P")
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err)
}
