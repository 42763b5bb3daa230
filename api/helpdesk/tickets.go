package helpdesk

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// Priority is how urgent a ticket is; SLA policies are set per priority.
type Priority string

// The four priorities, lowest first.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Valid reports whether p is one of the four priorities.
func (p Priority) Valid() bool { return p.rank() >= 0 }

// rank orders priorities, lowest first; -1 for an unknown one. It must
// agree with the priority_rank column that priority sorting reads.
func (p Priority) rank() int {
	switch p {
	case PriorityLow:
		return 0
	case PriorityNormal:
		return 1
	case PriorityHigh:
		return 2
	case PriorityUrgent:
		return 3
	}
	return -1
}

// Status is where a ticket stands, as the workflow engine records it.
type Status string

// The statuses of a ticket.
const (
	StatusNew      Status = "new"      // opened, not yet picked up
	StatusOpen     Status = "open"     // being worked on
	StatusPending  Status = "pending"  // waiting on the requester
	StatusResolved Status = "resolved" // answered; the requester may reopen or close
	StatusClosed   Status = "closed"   // done
)

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusNew, StatusOpen, StatusPending, StatusResolved, StatusClosed:
		return true
	}
	return false
}

// StepNew is the step of a ticket that its workflow has not moved yet.
const StepNew = "new"

// Limits of a ticket's fields.
const (
	MaxTitleLength       = 200      // characters
	MaxDescriptionBytes  = 64 << 10 // bytes of UTF-8
	maxTicketRequestSize = 6*MaxDescriptionBytes + 16<<10
)

// Ticket is a ticket as the API and the events show it.
type Ticket struct {
	ID            string   `json:"id"`
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	Status        Status   `json:"status"`
	Priority      Priority `json:"priority"`
	CategoryID    string   `json:"category_id"`
	RequesterID   string   `json:"requester_id"`
	RequesterName string   `json:"requester_name,omitempty"`
	// AssigneeID is null while nobody is assigned.
	AssigneeID   *string `json:"assignee_id"`
	AssigneeName string  `json:"assignee_name,omitempty"`
	// Step is the ticket's step in its category's process.
	Step      string    `json:"step"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TicketCreated is the data of ticket.created: the new ticket and the
// channel it came through.
type TicketCreated struct {
	Ticket
	// Channel is ChannelWeb (the web app or the API) or ChannelEmail.
	Channel string `json:"channel"`
}

// The channels a ticket is opened through.
const (
	ChannelWeb   = "web"
	ChannelEmail = "email"
)

// visibleTo reports whether u may see t: its requester, staff and other
// services may; other employees may not even learn that it exists.
func (t Ticket) visibleTo(u authn.User) bool {
	return u.IsStaff() || u.IsService() || t.RequesterID == u.ID
}

// errNoTicket is the one answer to an unknown, malformed or invisible
// ticket ID, so none can be told apart.
var errNoTicket = apperr.New(apperr.NotFound, "no such ticket")

// NewTicket is a ticket to open. Priority defaults to normal.
type NewTicket struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	CategoryID  string   `json:"category_id"`
	Priority    Priority `json:"priority"`
}

func (in *NewTicket) normalize() {
	in.Title = strings.TrimSpace(in.Title)
	if in.Priority == "" {
		in.Priority = PriorityNormal
	}
}

func (in NewTicket) validate() error {
	var f fieldErrors
	checkTitle(&f, in.Title)
	checkDescription(&f, in.Description)
	if !in.Priority.Valid() {
		f.add("priority", "must be one of: low normal high urgent")
	}
	if in.CategoryID == "" {
		f.add("category_id", "is required")
	} else {
		f.checkUUID("category_id", in.CategoryID)
	}
	return f.err(apperr.Unprocessable, "the request has invalid fields")
}

func checkTitle(f *fieldErrors, title string) {
	if title == "" {
		f.add("title", "is required")
		return
	}
	f.checkText("title", title, MaxTitleLength)
}

func checkDescription(f *fieldErrors, description string) {
	if len(description) > MaxDescriptionBytes {
		f.add("description", "must be at most 64 KiB long")
		return
	}
	f.checkText("description", description, MaxDescriptionBytes)
}

// errBadCategory answers a ticket filed in a category that does not exist
// or is no longer offered.
var errBadCategory = apperr.WithFields(apperr.Unprocessable, "the category does not exist or is inactive",
	apperr.FieldError{Field: "category_id", Message: "must be an active category"})

// CreateTicket opens a ticket for caller, its requester, with status and
// step new and nobody assigned, and publishes ticket.created in the same
// transaction; the workflow engine takes it from there.
func (s *Service) CreateTicket(ctx context.Context, caller authn.User, in NewTicket) (Ticket, error) {
	if caller.IsService() || !validID(caller.ID) {
		return Ticket{}, apperr.New(apperr.Forbidden, "tickets are opened by people")
	}
	in.normalize()
	if err := in.validate(); err != nil {
		return Ticket{}, err
	}
	var t Ticket
	err := s.events.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if t, err = insertTicket(ctx, tx, newID(), caller.ID, in); err != nil {
			return err
		}
		return publish(ctx, tx, events.TicketCreated, t.ID, TicketCreated{Ticket: t, Channel: ChannelWeb})
	})
	if err != nil {
		return Ticket{}, err
	}
	logging.FromContext(ctx, s.log).Info("ticket created", "ticket_id", t.ID, "category_id", t.CategoryID, "priority", t.Priority)
	return t, nil
}

// Ticket returns the ticket id as caller may see it.
func (s *Service) Ticket(ctx context.Context, caller authn.User, id string) (Ticket, error) {
	if !validID(id) {
		return Ticket{}, errNoTicket
	}
	t, err := ticketByID(ctx, s.pool, id, false)
	if err != nil {
		return Ticket{}, err
	}
	if !t.visibleTo(caller) {
		return Ticket{}, errNoTicket
	}
	return t, nil
}

// TicketPatch is a person's change to a ticket; nil fields stay as they
// are. The requester may change title and description while the ticket is
// new; agents and admins may change priority and category. Step, status
// and assignee belong to the workflow engine.
type TicketPatch struct {
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	Priority    *Priority `json:"priority"`
	CategoryID  *string   `json:"category_id"`
}

// allowedFor returns a Forbidden error when caller may not make p to t.
func (p TicketPatch) allowedFor(caller authn.User, t Ticket) error {
	if p.Title != nil || p.Description != nil {
		if t.RequesterID != caller.ID {
			return apperr.New(apperr.Forbidden, "only the requester may change the title and description")
		}
		if t.Status != StatusNew {
			return apperr.New(apperr.Forbidden, "the title and description can no longer be changed: the ticket is being worked on")
		}
	}
	if (p.Priority != nil || p.CategoryID != nil) && !caller.IsStaff() {
		return apperr.New(apperr.Forbidden, "only agents and admins may change the priority and category")
	}
	return nil
}

// apply returns t with p applied, or the fields p would make invalid.
func (p TicketPatch) apply(t Ticket) (Ticket, error) {
	var f fieldErrors
	if p.Title != nil {
		t.Title = strings.TrimSpace(*p.Title)
		checkTitle(&f, t.Title)
	}
	if p.Description != nil {
		t.Description = *p.Description
		checkDescription(&f, t.Description)
	}
	if p.Priority != nil {
		t.Priority = *p.Priority
		if !t.Priority.Valid() {
			f.add("priority", "must be one of: low normal high urgent")
		}
	}
	if p.CategoryID != nil {
		t.CategoryID = *p.CategoryID
		f.checkUUID("category_id", t.CategoryID)
	}
	if err := f.err(apperr.Unprocessable, "the request has invalid fields"); err != nil {
		return Ticket{}, err
	}
	return t, nil
}

// UpdateTicket applies caller's change to the ticket id and, when anything
// changed, records each changed field in its history and publishes
// ticket.updated, all in one transaction. A change that changes nothing
// writes nothing.
func (s *Service) UpdateTicket(ctx context.Context, caller authn.User, id string, p TicketPatch) (Ticket, error) {
	if !validID(id) {
		return Ticket{}, errNoTicket
	}
	if caller.IsService() {
		return Ticket{}, apperr.New(apperr.Forbidden, "services change tickets through the internal state route")
	}
	var (
		t       Ticket
		changes []Change
	)
	err := s.events.InTx(ctx, func(tx pgx.Tx) error {
		old, err := ticketByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !old.visibleTo(caller) {
			return errNoTicket
		}
		if err := p.allowedFor(caller, old); err != nil {
			return err
		}
		next, err := p.apply(old)
		if err != nil {
			return err
		}
		if next.CategoryID != old.CategoryID {
			if err := checkCategoryActive(ctx, tx, next.CategoryID); err != nil {
				return err
			}
		}
		t, changes, err = saveChanges(ctx, tx, old, next, caller.ID, "")
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	if len(changes) > 0 {
		logging.FromContext(ctx, s.log).Info("ticket updated", "ticket_id", t.ID, "fields", changedFields(changes))
	}
	return t, nil
}

// saveChanges writes next over old when they differ: the row, one history
// entry per changed field and a ticket.updated event. It returns the ticket
// as stored and the changes, none when next equals old.
func saveChanges(ctx context.Context, tx pgx.Tx, old, next Ticket, actorID, reason string) (Ticket, []Change, error) {
	changes := diff(old, next)
	if len(changes) == 0 {
		return old, nil, nil
	}
	t, err := updateTicket(ctx, tx, next)
	if err != nil {
		return Ticket{}, nil, err
	}
	if err := insertHistory(ctx, tx, t.ID, changes, actorID, reason); err != nil {
		return Ticket{}, nil, err
	}
	if err := publish(ctx, tx, events.TicketUpdated, t.ID, TicketUpdated{Ticket: t, Changes: changes, ActorID: actorID}); err != nil {
		return Ticket{}, nil, err
	}
	return t, changes, nil
}

func changedFields(changes []Change) []string {
	fields := make([]string, len(changes))
	for i, c := range changes {
		fields[i] = c.Field
	}
	return fields
}
