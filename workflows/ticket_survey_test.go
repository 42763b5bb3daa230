package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// surveyDesk plays the helpdesk's survey route, recording the requests.
type surveyDesk struct {
	mu       sync.Mutex
	requests []RequestSurveyInput
	refuse   bool
}

func (d *surveyDesk) RequestSurvey(_ context.Context, in RequestSurveyInput) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requests = append(d.requests, in)
	if d.refuse {
		return temporal.NewNonRetryableApplicationError("not resolved", ErrSurveyRefused, nil)
	}
	return nil
}

func (d *surveyDesk) got() []RequestSurveyInput {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]RequestSurveyInput(nil), d.requests...)
}

func newSurveyHarness(t *testing.T) (*harness, *surveyDesk) {
	h := newHarness(t, newBackend())
	d := &surveyDesk{}
	h.env.RegisterActivityWithOptions(d.RequestSurvey, activity.RegisterOptions{Name: ActivityRequestSurvey})
	return h, d
}

func TestSurvey_ResolvingAsksTheRequesterEachTime(t *testing.T) {
	h, d := newSurveyHarness(t)
	h.move(time.Minute, StepInProgress, RoleAgent)
	resolved := h.move(2*time.Minute, StepResolved, RoleAgent)
	h.at(3*time.Minute, func() {
		if got := d.got(); len(got) != 1 {
			t.Errorf("requests after the first resolution = %v, want 1", got)
		}
	})
	h.move(4*time.Minute, StepInProgress, RoleRequester) // reopened
	h.move(5*time.Minute, StepResolved, RoleAgent)
	h.move(6*time.Minute, StepClosed, RoleRequester)
	if err := h.run(time.Hour); err != nil {
		t.Fatalf("workflow ended with %v", err)
	}
	if resolved.failed != nil || resolved.state.Status != StatusResolved {
		t.Fatalf("resolve = %+v", resolved)
	}
	got := d.got()
	if len(got) != 2 {
		t.Fatalf("survey requests = %+v, want 2 (one per resolution)", got)
	}
	for _, r := range got {
		if r.TicketID != "ticket-1" || r.RequesterID != "requester-1" || r.AgentID != "agent-a" || r.TeamID != "team-1" || r.RequestKey == "" {
			t.Errorf("request = %+v", r)
		}
	}
	if got[0].RequestKey == got[1].RequestKey {
		t.Errorf("both resolutions used the key %q", got[0].RequestKey)
	}
}

func TestSurvey_NoRequestWithoutResolution(t *testing.T) {
	h, d := newSurveyHarness(t)
	h.move(time.Minute, StepInProgress, RoleAgent)
	h.move(2*time.Minute, StepWaiting, RoleAgent)
	_ = h.run(time.Hour)
	if got := d.got(); len(got) != 0 {
		t.Fatalf("survey requests = %+v, want none", got)
	}
}

func TestSurvey_ARefusedRequestDoesNotFailTheTicket(t *testing.T) {
	h, d := newSurveyHarness(t)
	d.refuse = true
	h.move(time.Minute, StepInProgress, RoleAgent)
	resolved := h.move(2*time.Minute, StepResolved, RoleAgent)
	closed := h.move(3*time.Minute, StepClosed, RoleRequester)
	if err := h.run(time.Hour); err != nil {
		t.Fatalf("workflow ended with %v", err)
	}
	if resolved.failed != nil || closed.failed != nil || closed.state.Status != StatusClosed {
		t.Fatalf("resolve = %+v, close = %+v", resolved.failed, closed)
	}
	if got := d.got(); len(got) != 1 {
		t.Fatalf("survey requests = %d, want 1 (refusals are not retried)", len(got))
	}
}

// slowDesk answers a survey request only when released.
type slowDesk struct {
	release chan struct{}
	mu      sync.Mutex
	done    []RequestSurveyInput
}

func (d *slowDesk) RequestSurvey(ctx context.Context, in RequestSurveyInput) error {
	select {
	case <-d.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.done = append(d.done, in)
	return nil
}

func TestSurvey_AQuickCloseStillWaitsForTheRequest(t *testing.T) {
	h := newHarness(t, newBackend())
	d := &slowDesk{release: make(chan struct{})}
	h.env.RegisterActivityWithOptions(d.RequestSurvey, activity.RegisterOptions{Name: ActivityRequestSurvey})
	h.move(time.Minute, StepInProgress, RoleAgent)
	h.move(2*time.Minute, StepResolved, RoleAgent)
	closed := h.move(2*time.Minute+100*time.Millisecond, StepClosed, RoleRequester)
	h.at(2*time.Minute+500*time.Millisecond, func() { close(d.release) })
	if err := h.run(time.Hour); err != nil {
		t.Fatalf("workflow ended with %v", err)
	}
	if closed.failed != nil || closed.state.Status != StatusClosed {
		t.Fatalf("close = %+v", closed)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.done) != 1 {
		t.Fatalf("completed survey requests = %d, want 1: the run ended before its request", len(d.done))
	}
}
