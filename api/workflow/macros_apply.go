package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/workflows"
)

// macroServices are the services a macro's actions go through besides the
// ticket's workflow: the helpdesk for the priority, messaging for the
// reply. Each call carries the caller's own access token, so those
// services check the agent's rights exactly as for the agent's own
// requests, and the reply is the agent's, signalling the workflow through
// comment.created like any other.
type macroServices struct {
	helpdeskURL  string
	messagingURL string
	client       *http.Client
}

// WithMacros sets the base URLs of the helpdesk and messaging services
// (each without its prefix, e.g. http://127.0.0.1:8080), which applying a
// macro calls. Without them, macros can be kept and listed, and applying one
// answers 503.
func (h *Handler) WithMacros(helpdeskURL, messagingURL string) *Handler {
	h.macros = macroServices{
		helpdeskURL:  strings.TrimRight(helpdeskURL, "/"),
		messagingURL: strings.TrimRight(messagingURL, "/"),
		client:       &http.Client{Timeout: 15 * time.Second},
	}
	return h
}

// MacroApplied is the answer of applying a macro: what it changed. A
// field is nil when the macro had no such action or it changed nothing
// (the ticket was already in that step or of that priority).
type MacroApplied struct {
	TicketID string  `json:"ticket_id"`
	MacroID  string  `json:"macro_id"`
	Step     *string `json:"step"`
	Priority *string `json:"priority"`
	// CommentID is the reply or internal note posted, nil when none.
	CommentID *string `json:"comment_id"`
	Internal  bool    `json:"internal"`
}

// applyMacro serves POST /tickets/{id}/macros/{macro_id}/apply. It checks
// everything first (the macro is the caller's, its step is allowed from
// the ticket's current one), then moves the step through the workflow's
// transition Update (so its validator has the last word), sets the
// priority, and posts the rendered body. A refusal before the first change
// changes nothing.
func (h *Handler) applyMacro(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	caller := authn.MustUser(ctx)
	ticketID := chi.URLParam(r, "id")
	m, err := h.visibleMacro(r, chi.URLParam(r, "macro_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s, actor, _, err := h.loadState(ctx, caller, ticketID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ticketID = s.TicketID
	_, values, err := h.store.macroContext(ctx, ticketID, caller.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	plan, err := planMacro(m, s, values)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if (plan.priority != nil || plan.body != "") && (h.macros.helpdeskURL == "" || h.macros.messagingURL == "") {
		h.fail(w, r, apperr.New(apperr.Unavailable, "applying macros is not configured on this server"))
		return
	}
	auth := r.Header.Get("Authorization")
	if plan.priority != nil {
		// The helpdesk owns the priority; the run's copy may lag behind a
		// change made there (by this macro a moment ago, say).
		var t struct {
			Priority string `json:"priority"`
		}
		if err := h.macros.call(ctx, http.MethodGet, h.macros.helpdeskURL+"/helpdesk/tickets/"+ticketID, auth, nil, &t); err != nil {
			h.fail(w, r, err)
			return
		}
		if t.Priority == *plan.priority {
			plan.priority = nil
		}
	}
	out := MacroApplied{TicketID: ticketID, MacroID: m.ID, Internal: m.Internal}
	if plan.step != nil {
		if _, err := h.update(ctx, ticketID, workflows.UpdateTransition,
			workflows.TransitionRequest{To: *plan.step, Note: "Macro: " + m.Name, Actor: actor}); err != nil {
			h.fail(w, r, err)
			return
		}
		out.Step = plan.step
	}
	if plan.priority != nil {
		err := h.macros.call(ctx, http.MethodPatch, h.macros.helpdeskURL+"/helpdesk/tickets/"+ticketID, auth,
			map[string]string{"priority": *plan.priority}, nil)
		if err != nil {
			h.fail(w, r, h.partly(ctx, out, "set the priority", err))
			return
		}
		out.Priority = plan.priority
	}
	if plan.body != "" {
		var c struct {
			ID string `json:"id"`
		}
		err := h.macros.call(ctx, http.MethodPost, h.macros.messagingURL+"/messaging/tickets/"+ticketID+"/comments", auth,
			map[string]any{"body": plan.body, "internal": m.Internal}, &c)
		if err != nil {
			h.fail(w, r, h.partly(ctx, out, "post the reply", err))
			return
		}
		out.CommentID = &c.ID
	}
	logging.FromContext(ctx, h.log).Info("macro applied", "ticket_id", ticketID, "macro_id", m.ID, "user_id", caller.ID)
	httpx.JSON(w, http.StatusOK, out)
}

// macroPlan is what applying a macro to a ticket will do.
type macroPlan struct {
	step     *string
	priority *string
	body     string
}

// planMacro decides what m does to the ticket in state s, or refuses it as
// the transition Update would: a step the process does not have is a 422,
// a step not reachable from the current one a 409.
func planMacro(m Macro, s workflows.TicketState, values PlaceholderValues) (macroPlan, error) {
	var p macroPlan
	if m.ToStep != nil && *m.ToStep != s.Step {
		if !slices.Contains(s.AllowedTransitions, *m.ToStep) {
			if !slices.ContainsFunc(s.Definition.Steps, func(st workflows.Step) bool { return st.Key == *m.ToStep }) {
				return macroPlan{}, apperr.New(apperr.Unprocessable, "the macro's step %q is not a step of this ticket's process", *m.ToStep)
			}
			return macroPlan{}, apperr.New(apperr.Conflict, "the macro's step %q cannot be reached from %q", *m.ToStep, s.Step)
		}
		to := *m.ToStep
		p.step = &to
	}
	if m.Priority != nil && *m.Priority != s.Priority {
		pr := *m.Priority
		p.priority = &pr
	}
	if body := RenderMacroBody(m.Body, values); strings.TrimSpace(body) != "" {
		p.body = body
	}
	return p, nil
}

// partly reports a macro that failed after it changed something: the
// caller is told what was applied, and may apply the macro again (the
// step and priority it already set are then left as they are).
func (h *Handler) partly(ctx context.Context, done MacroApplied, what string, err error) error {
	var applied []string
	if done.Step != nil {
		applied = append(applied, "the step was moved to "+*done.Step)
	}
	if done.Priority != nil {
		applied = append(applied, "the priority was set to "+*done.Priority)
	}
	if len(applied) == 0 {
		return err
	}
	logging.FromContext(ctx, h.log).Error("macro applied in part", "ticket_id", done.TicketID, "macro_id", done.MacroID, "failed", what, "err", err)
	msg := "could not " + what
	var ae *apperr.Error
	if errors.As(err, &ae) {
		msg += ": " + ae.Message
	}
	return &apperr.Error{Code: apperr.Unavailable,
		Message:    fmt.Sprintf("the macro was applied in part (%s) but %s; apply it again to finish", strings.Join(applied, ", "), msg),
		RetryAfter: 1}
}

// call sends a request (with a JSON body unless body is nil) with the caller's Authorization header and
// decodes a 2xx answer into out (when not nil). A 4xx answer becomes the
// same kind of application error; anything else is internal.
func (c macroServices) call(ctx context.Context, method, url, auth string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, url, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", auth)
	res, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, url, err)
		}
		return nil
	}
	if code, ok := downstreamCodes[res.StatusCode]; ok {
		var p httpx.Problem
		msg := http.StatusText(res.StatusCode)
		if json.Unmarshal(data, &p) == nil && p.Detail != "" {
			msg = p.Detail
		} else if p.Title != "" {
			msg = p.Title
		}
		return &apperr.Error{Code: code, Message: msg, Fields: p.Errors}
	}
	return fmt.Errorf("%s %s: status %d", method, url, res.StatusCode)
}

// downstreamCodes are the answers of another service that judge the
// request, passed on to the caller as they are.
var downstreamCodes = map[int]apperr.Code{
	http.StatusForbidden:           apperr.Forbidden,
	http.StatusNotFound:            apperr.NotFound,
	http.StatusConflict:            apperr.Conflict,
	http.StatusUnprocessableEntity: apperr.Unprocessable,
	http.StatusTooManyRequests:     apperr.TooManyRequests,
}
