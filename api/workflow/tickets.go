package workflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/workflows"
)

// updateTimeout bounds how long a caller waits for an Update's answer.
const updateTimeout = 20 * time.Second

func (h *Handler) ticketRoutes(r chi.Router) {
	r.Get("/tickets/{id}", h.ticketState)
	r.Post("/tickets/{id}/transitions", h.transition)
	r.With(authn.RequireRole(h.log, authn.RoleAgent, authn.RoleAdmin)).Post("/tickets/{id}/assignee", h.reassign)
	r.With(authn.RequireRole(h.log, authn.RoleAgent, authn.RoleAdmin)).Get("/board", h.board)
}

// StateResponse is the answer of GET /workflow/tickets/{id} and of the
// transition and reassignment routes.
type StateResponse struct {
	TicketID           string                       `json:"ticket_id"`
	WorkflowID         string                       `json:"workflow_id"`
	RunID              string                       `json:"run_id,omitempty"`
	CategoryID         string                       `json:"category_id"`
	RequesterID        string                       `json:"requester_id"`
	Step               string                       `json:"step"`
	Status             string                       `json:"status"`
	Priority           string                       `json:"priority"`
	AssigneeID         *string                      `json:"assignee_id"`
	TeamID             string                       `json:"team_id,omitempty"`
	WaitingForAgent    bool                         `json:"waiting_for_agent"`
	AllowedTransitions []string                     `json:"allowed_transitions"`
	Steps              []workflows.Step             `json:"steps"`
	DefinitionVersion  int                          `json:"definition_version"`
	SLA                SLAResponse                  `json:"sla"`
	History            []workflows.TransitionRecord `json:"history"`
	// TemporalURL links admins to the run in the Temporal UI.
	TemporalURL string `json:"temporal_url,omitempty"`
}

// SLAResponse is a ticket's service-level state.
type SLAResponse struct {
	FirstResponseDue *time.Time `json:"first_response_due"`
	ResolutionDue    *time.Time `json:"resolution_due"`
	Breached         bool       `json:"breached"`
	FirstResponse    SLAClock   `json:"first_response"`
	Resolution       SLAClock   `json:"resolution"`
}

// SLAClock is one clock's state.
type SLAClock struct {
	Met      bool `json:"met"`
	Breached bool `json:"breached"`
	Warned   bool `json:"warned"`
	Paused   bool `json:"paused"`
}

func (h *Handler) response(s workflows.TicketState, runID string, caller authn.User) StateResponse {
	r := StateResponse{
		TicketID: s.TicketID, WorkflowID: workflows.TicketWorkflowID(s.TicketID), RunID: runID,
		CategoryID: s.CategoryID, RequesterID: s.RequesterID, Step: s.Step, Status: s.Status,
		Priority: s.Priority, TeamID: s.TeamID, WaitingForAgent: s.WaitingForAgent,
		AllowedTransitions: s.AllowedTransitions, Steps: s.Definition.Steps, DefinitionVersion: s.Definition.Version,
		History: s.History,
		SLA: SLAResponse{
			FirstResponseDue: s.FirstResponse.Due, ResolutionDue: s.Resolution.Due,
			Breached:      s.FirstResponse.Breached || s.Resolution.Breached,
			FirstResponse: clock(s.FirstResponse), Resolution: clock(s.Resolution),
		},
	}
	if s.AssigneeID != "" {
		r.AssigneeID = &s.AssigneeID
	}
	if r.AllowedTransitions == nil {
		r.AllowedTransitions = []string{}
	}
	if caller.Role == authn.RoleAdmin && h.temporalUI != "" {
		r.TemporalURL = fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", h.temporalUI,
			url.PathEscape(h.namespace), url.PathEscape(r.WorkflowID), url.PathEscape(runID))
	}
	return r
}

func clock(c workflows.SLAState) SLAClock {
	return SLAClock{Met: c.Met, Breached: c.Breached, Warned: c.Warned, Paused: c.Paused}
}

// actorFor returns the role caller acts in on a ticket: staff act as
// themselves, the requester as "requester". Anyone else may not see it.
func actorFor(caller authn.User, requesterID string) (workflows.Actor, bool) {
	switch {
	case caller.Role == authn.RoleAgent || caller.Role == authn.RoleAdmin:
		return workflows.Actor{ID: caller.ID, Role: string(caller.Role)}, true
	case caller.Role == authn.RoleEmployee && caller.ID == requesterID:
		return workflows.Actor{ID: caller.ID, Role: workflows.RoleRequester}, true
	}
	return workflows.Actor{}, false
}

// loadState queries the ticket's run for caller and checks that caller may
// see it; another user's ticket is as unknown as a missing one.
func (h *Handler) loadState(ctx context.Context, caller authn.User, ticketID string) (workflows.TicketState, workflows.Actor, string, error) {
	if uuid.Validate(ticketID) != nil || caller.IsService() {
		return workflows.TicketState{}, workflows.Actor{}, "", errNoTicket
	}
	id := workflows.TicketWorkflowID(ticketID)
	// The requester is needed to know the caller's role; staff see every
	// ticket, so their first query is already the right one.
	actor := workflows.Actor{ID: caller.ID, Role: string(caller.Role)}
	if caller.Role == authn.RoleEmployee {
		actor.Role = workflows.RoleRequester
	}
	v, err := h.temporal.QueryWorkflow(ctx, id, "", workflows.QueryState, workflows.StateQuery{Actor: actor})
	if err != nil {
		return workflows.TicketState{}, workflows.Actor{}, "", temporalError(err, "query ticket "+ticketID)
	}
	var s workflows.TicketState
	if err := v.Get(&s); err != nil {
		return workflows.TicketState{}, workflows.Actor{}, "", fmt.Errorf("decode state of %s: %w", ticketID, err)
	}
	actor, ok := actorFor(caller, s.RequesterID)
	if !ok {
		return workflows.TicketState{}, workflows.Actor{}, "", errNoTicket
	}
	desc, err := h.temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return workflows.TicketState{}, workflows.Actor{}, "", temporalError(err, "describe ticket "+ticketID)
	}
	return s, actor, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), nil
}

func (h *Handler) ticketState(w http.ResponseWriter, r *http.Request) {
	caller := authn.MustUser(r.Context())
	s, _, runID, err := h.loadState(r.Context(), caller, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, h.response(s, runID, caller))
}

type transitionRequest struct {
	To   string `json:"to" validate:"required,max=64"`
	Note string `json:"note" validate:"max=2000"`
}

func (h *Handler) transition(w http.ResponseWriter, r *http.Request) {
	var req transitionRequest
	if err := httpx.Decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	caller := authn.MustUser(r.Context())
	_, actor, runID, err := h.loadState(r.Context(), caller, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.update(r.Context(), chi.URLParam(r, "id"), workflows.UpdateTransition,
		workflows.TransitionRequest{To: req.To, Note: req.Note, Actor: actor})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, h.response(s, runID, caller))
}

type assigneeRequest struct {
	AgentID string `json:"agent_id" validate:"required,uuid"`
}

func (h *Handler) reassign(w http.ResponseWriter, r *http.Request) {
	var req assigneeRequest
	if err := httpx.Decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	caller := authn.MustUser(r.Context())
	_, actor, runID, err := h.loadState(r.Context(), caller, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.update(r.Context(), chi.URLParam(r, "id"), workflows.UpdateAssign,
		workflows.AssignRequest{AgentID: req.AgentID, Actor: actor})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, h.response(s, runID, caller))
}

// errClosed answers a change to a ticket whose run has ended.
var errClosed = apperr.New(apperr.Conflict, "the ticket is closed")

// update sends an Update to the ticket's run and waits for its answer. The
// caller has just queried the run, so a run that is not found has ended.
func (h *Handler) update(ctx context.Context, ticketID, name string, arg any) (workflows.TicketState, error) {
	ctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	handle, err := h.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.TicketWorkflowID(ticketID),
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return workflows.TicketState{}, errClosed
	}
	if err != nil {
		return workflows.TicketState{}, temporalError(err, name+" ticket "+ticketID)
	}
	var s workflows.TicketState
	if err := handle.Get(ctx, &s); err != nil {
		return workflows.TicketState{}, temporalError(err, name+" ticket "+ticketID)
	}
	return s, nil
}

// rejections maps the workflow's rejection types to what the caller sees;
// the validator's reason becomes the problem's detail. A move the ticket's
// current step does not allow is a conflict with its state (409); a move
// the caller's role may not make on a ticket they may see is a request the
// process cannot take (422), not a denial of access: whoever can see a
// ticket may ask to move it, and the process says which moves are theirs.
var rejections = map[string]apperr.Code{
	workflows.ErrUnknownStep:       apperr.Unprocessable,
	workflows.ErrIllegalTransition: apperr.Conflict,
	workflows.ErrRoleNotAllowed:    apperr.Unprocessable,
	workflows.ErrTicketClosed:      apperr.Conflict,
	workflows.ErrNotAnAgent:        apperr.Unprocessable,
	workflows.ErrInvalidRequest:    apperr.Unprocessable,
}

// temporalError turns a Temporal error into an application error: a
// rejected Update keeps its reason; a missing run is a missing ticket; an
// overloaded run asks the caller to retry; an engine that does not answer
// in time is a 503.
func temporalError(err error, what string) error {
	var (
		app       *temporal.ApplicationError
		notFound  *serviceerror.NotFound
		exhausted *serviceerror.ResourceExhausted
		// The server's own deadline (a query no worker answered in time)
		// and a lost connection to it.
		deadline      *serviceerror.DeadlineExceeded
		unavailable   *serviceerror.Unavailable
		updateTimeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
		// "no poller seen for task queue recently, worker may be down": a
		// query while no worker is running.
		precondition *serviceerror.FailedPrecondition
	)
	switch {
	case errors.As(err, &app):
		if code, ok := rejections[app.Type()]; ok {
			return apperr.New(code, "%s", app.Message())
		}
	case errors.As(err, &notFound):
		return errNoTicket
	case errors.As(err, &exhausted):
		return &apperr.Error{Code: apperr.TooManyRequests, Message: "the ticket is busy with other changes, try again", RetryAfter: 1}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &deadline), errors.As(err, &updateTimeout),
		errors.As(err, &unavailable), errors.As(err, &precondition) && strings.Contains(precondition.Message, "poller"):
		// Temporal, or the worker that answers for the run, is down or
		// behind (the chaos suite restarts both under load): the request
		// may succeed moments later, and changed nothing.
		return &apperr.Error{Code: apperr.Unavailable, Message: "the workflow engine did not answer in time, try again", RetryAfter: 2}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// BoardResponse is the agents' kanban of a category: a column per step.
type BoardResponse struct {
	CategoryID string        `json:"category_id,omitempty"`
	Columns    []BoardColumn `json:"columns"`
}

// BoardColumn is one step's tickets.
type BoardColumn struct {
	Step    string      `json:"step"`
	Name    string      `json:"name"`
	Tickets []TicketRow `json:"tickets"`
}

func (h *Handler) board(w http.ResponseWriter, r *http.Request) {
	category := r.URL.Query().Get("category_id")
	if category != "" && uuid.Validate(category) != nil {
		h.fail(w, r, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "category_id", Message: "must be a UUID"}))
		return
	}
	def := workflows.DefaultDefinition()
	if category != "" {
		var err error
		if def, err = h.store.Definition(r.Context(), category); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	rows, err := h.store.Board(r.Context(), category)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, BoardResponse{CategoryID: category, Columns: columns(def, rows)})
}

// columns groups rows by step, in the order of the definition's steps; a
// ticket in a step the definition no longer has gets a column of its own.
func columns(def workflows.Definition, rows []TicketRow) []BoardColumn {
	cols := make([]BoardColumn, 0, len(def.Steps))
	index := map[string]int{}
	for _, s := range def.Steps {
		index[s.Key] = len(cols)
		cols = append(cols, BoardColumn{Step: s.Key, Name: s.Name, Tickets: []TicketRow{}})
	}
	for _, row := range rows {
		i, ok := index[row.Step]
		if !ok {
			i = len(cols)
			index[row.Step] = i
			cols = append(cols, BoardColumn{Step: row.Step, Name: row.Step, Tickets: []TicketRow{}})
		}
		cols[i].Tickets = append(cols[i].Tickets, row)
	}
	return cols
}

// signalWaiting tells every ticket waiting for an agent of the team that
// one may be available. Failures are logged: each waiting run also
// re-checks on a timer.
func (h *Handler) signalWaiting(ctx context.Context, teamID string) {
	ids, err := h.store.WaitingTickets(ctx, teamID)
	if err != nil {
		logging.FromContext(ctx, h.log).Error("list waiting tickets", "team_id", teamID, "err", err)
		return
	}
	for _, id := range ids {
		if err := h.temporal.SignalWorkflow(ctx, workflows.TicketWorkflowID(id), "", workflows.SignalAgentAvailable, nil); err != nil {
			logging.FromContext(ctx, h.log).Warn("signal waiting ticket", "ticket_id", id, "err", err)
		}
	}
}
