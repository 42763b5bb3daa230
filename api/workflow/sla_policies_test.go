package workflow_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/workflows"
)

func TestSLAPolicies_DefaultUntilSaved(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, agent, _ := e.staff()
	var list httpx.List[workflows.SLAPolicy]
	e.do("GET", "/workflow/sla-policies", agent, nil).want(t, http.StatusOK, &list)
	if len(list.Items) != 4 {
		t.Fatalf("policies = %+v, want 4", list.Items)
	}
	for i, p := range list.Items {
		if p != workflows.DefaultSLAPolicy(workflows.Priorities[i]) {
			t.Fatalf("policy %d = %+v, want the default of %s", i, p, workflows.Priorities[i])
		}
	}

	urgent := workflows.SLAPolicy{FirstResponseSeconds: 600, ResolutionSeconds: 7200, WarnRatio: 0.5, BusinessHours: true, AutoCloseSeconds: 0}
	var saved workflows.SLAPolicy
	e.do("PUT", "/workflow/sla-policies/urgent", admin, urgent).want(t, http.StatusOK, &saved)
	urgent.Priority = "urgent"
	if saved != urgent {
		t.Fatalf("saved = %+v, want %+v", saved, urgent)
	}
	// Saving again replaces it; the body may name its own priority.
	urgent.ResolutionSeconds = 3600
	e.do("PUT", "/workflow/sla-policies/urgent", admin, urgent).want(t, http.StatusOK, &saved)

	var got workflows.SLAPolicy
	e.do("GET", "/workflow/sla-policies/urgent", agent, nil).want(t, http.StatusOK, &got)
	if got != urgent {
		t.Fatalf("GET = %+v, want %+v", got, urgent)
	}
	if p, err := e.store.SLAPolicy(context.Background(), "urgent"); err != nil || p != urgent {
		t.Fatalf("store policy = %+v, %v", p, err)
	}
	if p, err := e.store.SLAPolicy(context.Background(), "low"); err != nil || p != workflows.DefaultSLAPolicy("low") {
		t.Fatalf("unsaved policy = %+v, %v; want the default", p, err)
	}
	e.do("GET", "/workflow/sla-policies", admin, nil).want(t, http.StatusOK, &list)
	if list.Items[3] != urgent || list.Items[0] != workflows.DefaultSLAPolicy("low") {
		t.Fatalf("list after save = %+v", list.Items)
	}
}

func TestPutSLAPolicy_RejectsInvalidPolicies(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, agent, employee := e.staff()
	valid := func() map[string]any {
		return map[string]any{"first_response_seconds": 3600, "resolution_seconds": 7200, "warn_ratio": 0.8, "business_hours": false, "auto_close_seconds": 86400}
	}
	cases := []struct {
		name  string
		key   string
		value any
		field string
	}{
		{"first response too short", "first_response_seconds", 10, "first_response_seconds"},
		{"resolution before first response", "resolution_seconds", 60, "resolution_seconds"},
		{"resolution over a year", "resolution_seconds", 400 * 24 * 3600, "resolution_seconds"},
		{"warn ratio of one", "warn_ratio", 1, "warn_ratio"},
		{"warn ratio missing", "warn_ratio", 0, "warn_ratio"},
		{"negative auto-close", "auto_close_seconds", -1, "auto_close_seconds"},
		{"another priority in the body", "priority", "low", "priority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := valid()
			body[c.key] = c.value
			e.do("PUT", "/workflow/sla-policies/high", admin, body).problem(t, http.StatusUnprocessableEntity, c.field)
		})
	}
	e.do("PUT", "/workflow/sla-policies/critical", admin, valid()).problem(t, http.StatusNotFound, "")
	e.do("GET", "/workflow/sla-policies/critical", admin, nil).problem(t, http.StatusNotFound, "")
	e.do("PUT", "/workflow/sla-policies/high", admin, `{"warn_ratio": "high"}`).problem(t, http.StatusBadRequest, "warn_ratio")
	e.do("PUT", "/workflow/sla-policies/high", admin, `{"escalate": true}`).problem(t, http.StatusBadRequest, "escalate")
	e.do("PUT", "/workflow/sla-policies/high", admin, `{`).problem(t, http.StatusBadRequest, "")
	e.do("PUT", "/workflow/sla-policies/high", agent, valid()).problem(t, http.StatusForbidden, "")
	e.do("GET", "/workflow/sla-policies", employee, nil).problem(t, http.StatusForbidden, "")
	if n := e.count(`SELECT count(*) FROM sla_policies`); n != 0 {
		t.Fatalf("policies stored by bad requests = %d", n)
	}
	if _, err := e.store.SLAPolicy(context.Background(), "critical"); err == nil {
		t.Fatal("store returned a policy for an unknown priority")
	}
}
