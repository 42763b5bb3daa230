package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

type macroApplied struct {
	Step      *string `json:"step"`
	Priority  *string `json:"priority"`
	CommentID *string `json:"comment_id"`
	Internal  bool    `json:"internal"`
}

type commentPage struct {
	Items []struct {
		ID       string `json:"id"`
		AuthorID string `json:"author_id"`
		Body     string `json:"body"`
		Internal bool   `json:"internal"`
	} `json:"items"`
}

// TestMacros_ApplyMovesTheStepSetsPriorityAndRepliesThroughEveryService
// applies macros to a real ticket: the step moves through the workflow's
// transition Update, the priority through the helpdesk, the reply through
// messaging (whose comment.created stops the first-response clock); an
// illegal or unknown step is refused before anything changes, and only
// agents of the macro's team (and admins) may apply it.
func TestMacros_ApplyMovesTheStepSetsPriorityAndRepliesThroughEveryService(t *testing.T) {
	base, amqpURL := startDev(t)
	d := setUpDesk(t, base, amqpURL)
	emp := register(t, base, "ana@example.com")
	id := d.open(t, emp, "Printer on fire")
	d.waitForAssignee(t, emp, id)
	run(t, "admin", "create-user", "--email", "olga@example.com", "--password", "agent password 123", "--name", "Olga", "--role", "agent")
	other := signIn(t, base, "olga@example.com", "agent password 123")

	macro := func(body map[string]any) string {
		t.Helper()
		body["team_id"] = d.team
		var m struct {
			ID string `json:"id"`
		}
		d.admin.call("POST", "/workflow/macros", body, 201, &m)
		return m.ID
	}
	start := macro(map[string]any{"name": "Start", "to_step": "in_progress", "priority": "high",
		"body": "Hi {{requester.name}}, {{agent.name}} is on {{ticket.id}}: {{ticket.title}}<script>"})
	closeNow := macro(map[string]any{"name": "Close now", "to_step": "closed", "body": "Closing this."})
	unknown := macro(map[string]any{"name": "Nowhere", "to_step": "nowhere", "body": "Moving."})
	note := macro(map[string]any{"name": "Note", "internal": true, "body": "Checked {{ticket.title}}"})

	comments := func(c *user) commentPage {
		t.Helper()
		var p commentPage
		c.call("GET", "/messaging/tickets/"+id+"/comments", nil, 200, &p)
		return p
	}
	var st stateView
	d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &st)
	if st.Step != "triage" {
		t.Fatalf("step before = %q, want triage", st.Step)
	}

	// Refused before anything changes: a step not reachable from triage,
	// a step the process does not have, callers who may not use the macro.
	apply := func(c *user, macroID string, want int, out any) {
		t.Helper()
		c.call("POST", "/workflow/tickets/"+id+"/macros/"+macroID+"/apply", nil, want, out)
	}
	apply(d.agent, closeNow, 409, nil)
	apply(d.agent, unknown, 422, nil)
	apply(emp, start, 403, nil)
	apply(other, start, 404, nil)
	apply(d.agent, "00000000-0000-0000-0000-000000000000", 404, nil)
	d.agent.call("POST", "/workflow/tickets/00000000-0000-0000-0000-000000000000/macros/"+start+"/apply", nil, 404, nil)
	if n := len(comments(d.agent).Items); n != 0 {
		t.Fatalf("refused macros posted %d comments", n)
	}
	d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &st)
	if st.Step != "triage" {
		t.Fatalf("refused macros moved the step to %q", st.Step)
	}

	var got macroApplied
	apply(d.agent, start, 200, &got)
	if got.Step == nil || *got.Step != "in_progress" || got.Priority == nil || *got.Priority != "high" || got.CommentID == nil || got.Internal {
		t.Fatalf("applied = %+v", got)
	}
	d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &st)
	if st.Step != "in_progress" {
		t.Fatalf("step after the macro = %q, want in_progress", st.Step)
	}
	var tk struct {
		Priority string `json:"priority"`
	}
	emp.call("GET", "/helpdesk/tickets/"+id, nil, 200, &tk)
	if tk.Priority != "high" {
		t.Fatalf("priority after the macro = %q, want high", tk.Priority)
	}
	page := comments(emp)
	wantBody := fmt.Sprintf("Hi ana@example.com, Agent is on %s: Printer on fire<script>", id)
	if len(page.Items) != 1 || page.Items[0].Body != wantBody || page.Items[0].AuthorID != d.agent.id || page.Items[0].ID != *got.CommentID {
		t.Fatalf("comments after the macro = %+v, want one by the agent: %q", page.Items, wantBody)
	}
	// The reply is the agent's first public response, heard by the
	// workflow through comment.created like any reply.
	eventually(t, 30*time.Second, "the first response met", func() bool {
		var s struct {
			SLA struct {
				FirstResponse struct {
					Met bool `json:"met"`
				} `json:"first_response"`
			} `json:"sla"`
		}
		d.agent.call("GET", "/workflow/tickets/"+id, nil, 200, &s)
		return s.SLA.FirstResponse.Met
	})

	// Applied again: the step and priority are already set, only the reply
	// is posted.
	apply(d.agent, start, 200, &got)
	if got.Step != nil || got.Priority != nil || got.CommentID == nil {
		t.Fatalf("applied again = %+v", got)
	}

	// An internal note is for staff only.
	apply(d.admin, note, 200, &got)
	if !got.Internal || got.CommentID == nil {
		t.Fatalf("note applied = %+v", got)
	}
	if n := len(comments(emp).Items); n != 2 {
		t.Fatalf("requester sees %d comments, want the 2 public ones", n)
	}
	staffView := comments(d.agent)
	last := staffView.Items[len(staffView.Items)-1]
	if len(staffView.Items) != 3 || !last.Internal || !strings.HasPrefix(last.Body, "Checked Printer on fire") {
		t.Fatalf("agent's comments = %+v", staffView.Items)
	}
}
