package workflows

import "time"

// The contract of TicketWorkflow with the API side: the only Temporal names
// that api/workflow and the consumers import.

// TicketWorkflowID is the ID of a ticket's run: one per ticket, ever.
func TicketWorkflowID(ticketID string) string { return "ticket-" + ticketID }

// Names of the handlers TicketWorkflow registers.
const (
	// UpdateTransition moves the ticket to another step (TransitionRequest).
	UpdateTransition = "transition"
	// UpdateAssign reassigns the ticket (AssignRequest).
	UpdateAssign = "assign"
	// SignalComment tells the workflow a comment was added (CommentSignal).
	SignalComment = "comment"
	// SignalAgentAvailable tells a ticket waiting for an agent that one of
	// its team may have become available; it re-runs the assignment.
	SignalAgentAvailable = "agent-available"
	// SignalPriority tells the workflow the helpdesk changed the ticket's
	// priority (PrioritySignal); the SLA clocks follow the new priority.
	SignalPriority = "priority"
	// QueryState returns the ticket's State for a caller (StateQuery).
	QueryState = "state"
)

// Error types of rejected Updates, as temporal.ApplicationError types; the
// API maps each to an HTTP status.
const (
	ErrUnknownStep       = "UnknownStep"       // 422
	ErrIllegalTransition = "IllegalTransition" // 409
	ErrRoleNotAllowed    = "RoleNotAllowed"    // 422
	ErrTicketClosed      = "TicketClosed"      // 409
	ErrNotAnAgent        = "NotAnAgent"        // 422
	ErrInvalidRequest    = "InvalidRequest"    // 422
)

// TicketInput starts a ticket's workflow; it is what ticket.created carries.
type TicketInput struct {
	TicketID    string    `json:"ticket_id"`
	Title       string    `json:"title"`
	CategoryID  string    `json:"category_id"`
	Priority    string    `json:"priority"`
	RequesterID string    `json:"requester_id"`
	CreatedAt   time.Time `json:"created_at"`

	// Carried is the state of a run continuing as new; nil on the first run.
	Carried *TicketState `json:"carried,omitempty"`
}

// Actor is who asks for a change: a user's ID and the role they act in
// (RoleRequester, RoleAgent, RoleAdmin).
type Actor struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

// TransitionRequest is the argument of UpdateTransition.
type TransitionRequest struct {
	To    string `json:"to"`
	Note  string `json:"note,omitempty"`
	Actor Actor  `json:"actor"`
}

// AssignRequest is the argument of UpdateAssign.
type AssignRequest struct {
	AgentID string `json:"agent_id"`
	Actor   Actor  `json:"actor"`
}

// CommentSignal is the argument of SignalComment.
type CommentSignal struct {
	// EventID makes the signal idempotent: a comment.created delivered twice
	// is counted once.
	EventID   string `json:"event_id"`
	CommentID string `json:"comment_id"`
	AuthorID  string `json:"author_id"`
	// AuthorRole is the author's account role: employee, agent or admin.
	AuthorRole string    `json:"author_role"`
	Internal   bool      `json:"internal"`
	At         time.Time `json:"at"`
}

// PrioritySignal is the argument of SignalPriority: the ticket's priority
// as a ticket.updated of the helpdesk set it.
type PrioritySignal struct {
	// EventID makes the signal idempotent: a ticket.updated delivered
	// twice is applied once.
	EventID  string `json:"event_id"`
	Priority string `json:"priority"`
	// ActorID is who changed it in the helpdesk.
	ActorID string `json:"actor_id,omitempty"`
	// At is when the helpdesk changed it; a signal older than the last
	// change applied (a late redelivery) is ignored.
	At time.Time `json:"at"`
}

// PriorityChange is one priority change the workflow applied.
type PriorityChange struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	ActorID string    `json:"actor_id,omitempty"`
	EventID string    `json:"event_id,omitempty"`
	At      time.Time `json:"at"`
}

// StateQuery is the argument of QueryState: whose view of the state.
type StateQuery struct {
	Actor Actor `json:"actor"`
}

// SLAState is one service-level clock of a ticket.
type SLAState struct {
	// Due is when the clock breaches; nil while paused or once met.
	Due      *time.Time `json:"due,omitempty"`
	Met      bool       `json:"met"`
	Breached bool       `json:"breached"`
	Warned   bool       `json:"warned"`
	Paused   bool       `json:"paused"`
	// BudgetSeconds is the full allowance; UsedSeconds what was spent of it
	// up to the last pause or change.
	BudgetSeconds int64 `json:"budget_seconds"`
	UsedSeconds   int64 `json:"used_seconds"`
	// RunningSince is when the clock last started counting; nil while it
	// stands (paused, met or breached).
	RunningSince *time.Time `json:"running_since,omitempty"`
}

// TransitionRecord is one entry of the ticket's transition history.
type TransitionRecord struct {
	From  string    `json:"from"`
	To    string    `json:"to"`
	Actor Actor     `json:"actor"`
	Note  string    `json:"note,omitempty"`
	At    time.Time `json:"at"`
}

// TicketState is what the workflow knows of its ticket, as QueryState
// returns it and as it is carried across continue-as-new.
type TicketState struct {
	TicketID    string `json:"ticket_id"`
	Title       string `json:"title"`
	CategoryID  string `json:"category_id"`
	RequesterID string `json:"requester_id"`
	Priority    string `json:"priority"`
	Step        string `json:"step"`
	Status      string `json:"status"`
	AssigneeID  string `json:"assignee_id,omitempty"`
	// TeamID is the team the ticket is with: the category's, or the
	// escalation team's after a breach.
	TeamID string `json:"team_id,omitempty"`
	// WaitingForAgent is true while no agent of the team was available;
	// AgentCheckedAt is when the run last looked for one.
	WaitingForAgent bool       `json:"waiting_for_agent"`
	AgentCheckedAt  *time.Time `json:"agent_checked_at,omitempty"`

	Definition Definition `json:"definition"`
	Policy     SLAPolicy  `json:"policy"`
	Calendar   *Calendar  `json:"calendar,omitempty"`

	FirstResponse SLAState `json:"first_response"`
	Resolution    SLAState `json:"resolution"`
	Escalated     bool     `json:"escalated"`
	// ResolvedAt starts the auto-close clock.
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`

	History []TransitionRecord `json:"history"`
	// AllowedTransitions are the steps the querying actor may move to; set
	// only in query answers.
	AllowedTransitions []string `json:"allowed_transitions"`
	// SeenEvents are the latest comment and priority event IDs, to drop
	// duplicates.
	SeenEvents []string `json:"seen_events,omitempty"`
	// PriorityChanges are the priority changes of the helpdesk the run
	// applied, oldest first; PriorityAt is when the last one was made.
	PriorityChanges []PriorityChange `json:"priority_changes,omitempty"`
	PriorityAt      *time.Time       `json:"priority_at,omitempty"`
	// Seq numbers the changes the run has recorded, for idempotency keys.
	Seq int `json:"seq"`
}
