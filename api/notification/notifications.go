package notification

import (
	"context"
	"time"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// Notification is an in-app notification, as the API lists it and as it
// is published on the user's Redis channel.
type Notification struct {
	ID       string `json:"id"`
	Kind     Kind   `json:"kind"`
	TicketID string `json:"ticket_id"`
	// Title is a one-line headline, Body the detail; both plain text.
	Title string `json:"title"`
	Body  string `json:"body"`
	// Link is the web app's path of the ticket, such as /tickets/<id>.
	Link      string    `json:"link"`
	CreatedAt time.Time `json:"created_at"`
	// ReadAt is null while the notification is unread.
	ReadAt *time.Time `json:"read_at"`

	userID string
	// survey, on a survey request, is the rating link its e-mail offers;
	// it is not stored with the notification.
	survey *surveyLink
}

// Page sizes of a notification list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ListFilter selects a page of a user's notifications, newest first.
type ListFilter struct {
	UnreadOnly bool
	// After is where the previous page ended; nil for the first page.
	After *Position
	// Limit is the page size; zero means DefaultPageSize.
	Limit int
}

// Position is where a page of notifications ends. Clients see it only as a
// signed cursor (see cursor.Codec).
type Position struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// Page is one page of a user's notifications, with how many of all their
// notifications are unread.
type Page struct {
	Items []Notification
	// Next is where the following page starts; nil on the last page.
	Next        *Position
	UnreadCount int
}

// List returns a page of userID's notifications.
func (s *Service) List(ctx context.Context, userID string, f ListFilter) (Page, error) {
	if f.Limit == 0 {
		f.Limit = DefaultPageSize
	}
	if f.Limit < 1 || f.Limit > MaxPageSize {
		return Page{}, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "limit", Message: "must be a number from 1 to 100"})
	}
	if f.After != nil && !validID(f.After.ID) {
		return Page{}, apperr.New(apperr.Invalid, "the cursor is invalid")
	}
	if !validID(userID) {
		return Page{Items: []Notification{}}, nil // no notification can be this caller's
	}
	items, err := listNotifications(ctx, s.pool, userID, f.UnreadOnly, f.After, f.Limit+1)
	if err != nil {
		return Page{}, err
	}
	unread, err := unreadCount(ctx, s.pool, userID)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: items, UnreadCount: unread}
	if len(items) > f.Limit {
		last := items[f.Limit-1]
		page.Items = items[:f.Limit]
		page.Next = &Position{At: last.CreatedAt, ID: last.ID}
	}
	return page, nil
}

// errNoNotification is the one answer to an unknown, malformed or another
// user's notification ID, so none can be told apart.
var errNoNotification = apperr.New(apperr.NotFound, "no such notification")

// MarkRead marks one of userID's notifications read and returns it. Marking
// a read notification again keeps the time it was first read.
func (s *Service) MarkRead(ctx context.Context, userID, id string) (Notification, error) {
	if !validID(id) || !validID(userID) {
		return Notification{}, errNoNotification
	}
	n, found, err := markRead(ctx, s.pool, userID, id)
	if err != nil {
		return Notification{}, err
	}
	if !found {
		return Notification{}, errNoNotification
	}
	return n, nil
}

// MarkAllRead marks every unread notification of userID read and returns
// how many it marked.
func (s *Service) MarkAllRead(ctx context.Context, userID string) (int64, error) {
	if !validID(userID) {
		return 0, nil
	}
	return markAllRead(ctx, s.pool, userID)
}
