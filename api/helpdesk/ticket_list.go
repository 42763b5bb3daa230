package helpdesk

import (
	"context"
	"time"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
)

// TicketSort is the order of a ticket list. Every order is descending and
// ends in the ticket ID, so pages are stable.
type TicketSort string

// The orders of a ticket list.
const (
	SortCreated  TicketSort = "created"  // newest first (the default)
	SortUpdated  TicketSort = "updated"  // most recently changed first
	SortPriority TicketSort = "priority" // most urgent first, then newest
)

// Valid reports whether s is one of the sorts.
func (s TicketSort) Valid() bool {
	return s == SortCreated || s == SortUpdated || s == SortPriority
}

// AssigneeNone is the assignee filter for unassigned tickets.
const AssigneeNone = "none"

// Page sizes of a ticket list.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
	// MaxQueryLength bounds the search text, in bytes.
	MaxQueryLength = 200
)

// TicketFilter narrows and orders a ticket list. Empty fields do not filter.
type TicketFilter struct {
	Status     Status
	Priority   Priority
	CategoryID string
	// AssigneeID is a user's ID, or AssigneeNone for unassigned tickets.
	AssigneeID  string
	RequesterID string
	// CreatedAfter is inclusive, CreatedBefore exclusive.
	CreatedAfter, CreatedBefore time.Time
	// Query is searched in title and description with web-search syntax:
	// words, "quoted phrases", or, -excluded.
	Query string
	Sort  TicketSort
	// After is where the previous page ended; nil for the first page.
	After *TicketPosition
	Limit int
}

// TicketPosition is where a page of tickets ends: the last ticket's sort
// key. Clients see it only as a signed cursor (see cursor.Codec).
type TicketPosition struct {
	Sort TicketSort `json:"s"`
	Rank int        `json:"r,omitempty"`
	At   time.Time  `json:"t"`
	ID   string     `json:"i"`
}

// positionOf returns the position of t in the given order.
func positionOf(sort TicketSort, t Ticket) TicketPosition {
	p := TicketPosition{Sort: sort, At: t.CreatedAt, ID: t.ID}
	switch sort {
	case SortUpdated:
		p.At = t.UpdatedAt
	case SortPriority:
		p.Rank = t.Priority.rank()
	}
	return p
}

// TicketPage is one page of a ticket list.
type TicketPage struct {
	Items []Ticket
	// Next is where the following page starts; nil on the last page.
	Next *TicketPosition
}

func (f *TicketFilter) normalize() error {
	if f.Sort == "" {
		f.Sort = SortCreated
	}
	if f.Limit == 0 {
		f.Limit = DefaultPageSize
	}
	var errs fieldErrors
	if !f.Sort.Valid() {
		errs.add("sort", "must be one of: created updated priority")
	}
	if f.Limit < 1 || f.Limit > MaxPageSize {
		errs.add("limit", "must be a number from 1 to 100")
	}
	if f.Status != "" && !f.Status.Valid() {
		errs.add("status", "must be one of: new open pending resolved closed")
	}
	if f.Priority != "" && !f.Priority.Valid() {
		errs.add("priority", "must be one of: low normal high urgent")
	}
	if f.After != nil && (f.After.Sort != f.Sort || !validID(f.After.ID)) {
		// The cursor is signed, so only one made for another sort gets here.
		errs.add("cursor", "belongs to another sort order")
	}
	if f.CategoryID != "" {
		errs.checkUUID("category_id", f.CategoryID)
	}
	if f.AssigneeID != "" && f.AssigneeID != AssigneeNone {
		errs.checkUUID("assignee_id", f.AssigneeID)
	}
	if f.RequesterID != "" {
		errs.checkUUID("requester_id", f.RequesterID)
	}
	if len(f.Query) > MaxQueryLength {
		errs.add("q", "must be at most 200 bytes long")
	} else {
		errs.checkText("q", f.Query, MaxQueryLength)
	}
	return errs.err(apperr.Invalid, "invalid query")
}

// ListTickets returns a page of the tickets caller may see that match f:
// employees see only the tickets they opened, agents, admins and services
// all of them.
func (s *Service) ListTickets(ctx context.Context, caller authn.User, f TicketFilter) (TicketPage, error) {
	if err := f.normalize(); err != nil {
		return TicketPage{}, err
	}
	var requesterOnly string
	if !caller.IsStaff() && !caller.IsService() {
		if !validID(caller.ID) {
			return TicketPage{}, nil // no ticket can be this caller's
		}
		requesterOnly = caller.ID
	}
	limit := f.Limit
	f.Limit = limit + 1 // one more tells whether there is a next page
	tickets, err := listTickets(ctx, s.pool, f, requesterOnly)
	if err != nil {
		return TicketPage{}, err
	}
	if len(tickets) <= limit {
		return TicketPage{Items: tickets}, nil
	}
	next := positionOf(f.Sort, tickets[limit-1])
	return TicketPage{Items: tickets[:limit], Next: &next}, nil
}
