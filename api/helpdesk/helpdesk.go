// Package helpdesk is Ticketflow's source of truth for tickets: their
// fields, categories and priorities, who may see and change them, their
// history, and the ticket.created / ticket.updated events that start and
// follow each ticket's workflow.
//
// People create, read, search and edit tickets under Prefix. The workflow
// engine writes a ticket's step, status and assignee through the internal
// routes under Prefix+"/internal", which only a service token may call;
// other services ask there whether a user may see a ticket. A RabbitMQ
// consumer (see NewUserDirectoryHandler) keeps a directory of users from
// auth's events, for names and roles without a call to auth per request.
package helpdesk

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/outbox"
)

// EventSource is the CloudEvents source of the events the helpdesk publishes.
const EventSource = "/helpdesk"

// Service implements the helpdesk's use cases; the HTTP handlers call it.
// Every write runs in one transaction with the outbox row announcing it.
type Service struct {
	pool   *pgxpool.Pool
	events *outbox.Writer // runs the transactions that write events
	log    *slog.Logger
	// surveyLinks signs the one-click survey links; nil turns surveys off
	// (see WithSurveyLinks).
	surveyLinks atomic.Pointer[SurveyLinks]
}

// NewService returns the helpdesk service on pool, whose schema Migrate
// has brought up to date.
func NewService(pool *pgxpool.Pool, log *slog.Logger) *Service {
	return &Service{pool: pool, events: outbox.NewWriter(pool), log: log}
}

// publish writes an event about a ticket to the outbox in tx, so it goes out
// if and only if the change commits.
func publish(ctx context.Context, tx pgx.Tx, typ, ticketID string, data any) error {
	e, err := events.New(EventSource, typ, ticketID, data)
	if err != nil {
		return fmt.Errorf("%s event for ticket %s: %w", typ, ticketID, err)
	}
	return outbox.Write(ctx, tx, e)
}

// fieldErrors collects the invalid fields of a request, so one answer
// names all of them.
type fieldErrors []apperr.FieldError

func (f *fieldErrors) add(field, message string) {
	*f = append(*f, apperr.FieldError{Field: field, Message: message})
}

// err returns an error of the given code listing the fields, or nil when
// there are none.
func (f fieldErrors) err(code apperr.Code, message string) error {
	if len(f) == 0 {
		return nil
	}
	return apperr.WithFields(code, message, f...)
}

// checkText adds an error when s is longer than maxRunes characters or
// holds a NUL byte, which PostgreSQL cannot store in text.
func (f *fieldErrors) checkText(field, s string, maxRunes int) {
	switch {
	case strings.ContainsRune(s, 0):
		f.add(field, "must not contain NUL characters")
	case utf8.RuneCountInString(s) > maxRunes:
		f.add(field, fmt.Sprintf("must be at most %d characters long", maxRunes))
	}
}

// checkUUID adds an error when s is not a UUID.
func (f *fieldErrors) checkUUID(field, s string) {
	if uuid.Validate(s) != nil {
		f.add(field, "must be a UUID")
	}
}

// validID reports whether id can name a row. A malformed ID is answered
// like an unknown one, 404, so IDs cannot be probed by their shape.
func validID(id string) bool { return uuid.Validate(id) == nil }

// newID returns a time-ordered UUID (version 7), which keeps the primary
// key index's inserts at its right edge as the table grows.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// Only a failing random source gets here; v4 fails the same way.
		return uuid.NewString()
	}
	return id.String()
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
