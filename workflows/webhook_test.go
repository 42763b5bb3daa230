package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// receiver plays the webhook activities for the unit tests: fail decides
// each attempt's outcome.
type receiver struct {
	mu        sync.Mutex
	fail      func(deliveryID string, attempt int32) error
	attempts  []string // "<delivery id>#<attempt>@<minutes since start>"
	delivered []string
	disabled  []DisableWebhookInput
	dropped   []DropWebhookDeliveriesInput
	start     time.Time
}

func (r *receiver) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(func(ctx context.Context, in DeliverWebhookInput) (DeliverWebhookResult, error) {
		attempt := activity.GetInfo(ctx).Attempt
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts = append(r.attempts, fmt.Sprintf("%s#%d", in.DeliveryID, attempt))
		if r.fail != nil {
			if err := r.fail(in.DeliveryID, attempt); err != nil {
				return DeliverWebhookResult{}, err
			}
		}
		r.delivered = append(r.delivered, in.DeliveryID)
		return DeliverWebhookResult{StatusCode: 204}, nil
	}, activity.RegisterOptions{Name: ActivityDeliverWebhook})
	env.RegisterActivityWithOptions(func(_ context.Context, in DisableWebhookInput) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.disabled = append(r.disabled, in)
		return nil
	}, activity.RegisterOptions{Name: ActivityDisableWebhook})
	env.RegisterActivityWithOptions(func(_ context.Context, in DropWebhookDeliveriesInput) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.dropped = append(r.dropped, in)
		return nil
	}, activity.RegisterOptions{Name: ActivityDropWebhookDeliveries})
}

var testWebhookSettings = WebhookSettings{
	FailureWindow: time.Hour, InitialInterval: time.Second, MaxInterval: 5 * time.Minute, AttemptTimeout: 5 * time.Second,
	MaxRunSignals: 100,
}

// signalAt queues signals of the given delivery IDs (event IDs alike) at
// a delay after the start.
func signalAt(env *testsuite.TestWorkflowEnvironment, delay time.Duration, ids ...string) {
	env.RegisterDelayedCallback(func() {
		for _, id := range ids {
			env.SignalWorkflow(SignalWebhookEvent, WebhookEventSignal{DeliveryID: id, EventID: "ev-" + id, EventType: "ticket.created", Subject: "t"})
		}
	}, delay)
}

func newWebhookEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *receiver) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	r := &receiver{}
	r.register(env)
	env.RegisterWorkflow(WebhookWorkflow)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env, r
}

func TestWebhookWorkflow_DeliversInOrderThenEndsWhenIdle(t *testing.T) {
	env, r := newWebhookEnv(t)
	signalAt(env, 0, "d1", "d2")
	signalAt(env, time.Minute, "d3")
	start := env.Now()
	env.ExecuteWorkflow(WebhookWorkflow, WebhookInput{EndpointID: "ep-1", Settings: testWebhookSettings})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, err %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if want := []string{"d1", "d2", "d3"}; !slices.Equal(r.delivered, want) {
		t.Fatalf("delivered %v, want %v", r.delivered, want)
	}
	if idle := env.Now().Sub(start); idle < webhookIdle {
		t.Fatalf("run ended after %s, before its idle time %s", idle, webhookIdle)
	}
	if len(r.disabled) != 0 || len(r.dropped) != 0 {
		t.Fatalf("disabled %v dropped %v", r.disabled, r.dropped)
	}
}

func TestWebhookWorkflow_RetriesWithBackoffUntilTheReceiverRecovers(t *testing.T) {
	env, r := newWebhookEnv(t)
	// The receiver is down for the first 20 minutes (simulated).
	var start time.Time
	down := 20 * time.Minute
	r.fail = func(id string, attempt int32) error {
		if env.Now().Sub(start) < down {
			return temporal.NewApplicationError("503 Service Unavailable", "WebhookFailed")
		}
		return nil
	}
	signalAt(env, 0, "d1", "d2", "d3")
	start = env.Now()
	env.ExecuteWorkflow(WebhookWorkflow, WebhookInput{EndpointID: "ep-1", Settings: testWebhookSettings})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"d1", "d2", "d3"}; !slices.Equal(r.delivered, want) {
		t.Fatalf("delivered %v, want %v (attempts %v)", r.delivered, want, r.attempts)
	}
	// Backoff 1s, 2s, 4s ... capped at 5 minutes: about a dozen attempts
	// in 20 minutes, not hundreds.
	n := 0
	for _, a := range r.attempts {
		if a[:2] == "d1" {
			n++
		}
	}
	if n < 8 || n > 16 {
		t.Fatalf("d1 took %d attempts in %s; want exponential backoff (attempts %v)", n, down, r.attempts)
	}
	for _, a := range r.attempts {
		if a[:2] != "d1" && a[3:] != "1" {
			t.Fatalf("a later delivery was retried or tried before d1 succeeded: %v", r.attempts)
		}
	}
	if len(r.disabled) != 0 {
		t.Fatalf("endpoint disabled although the receiver recovered within the window: %v", r.disabled)
	}
}

func TestWebhookWorkflow_DisablesTheEndpointAfterTheFailureWindow(t *testing.T) {
	env, r := newWebhookEnv(t)
	r.fail = func(string, int32) error {
		return temporal.NewApplicationError("connection refused", "WebhookFailed")
	}
	signalAt(env, 0, "d1", "d2")
	start := env.Now()
	env.ExecuteWorkflow(WebhookWorkflow, WebhookInput{EndpointID: "ep-1", Settings: testWebhookSettings})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	elapsed := env.Now().Sub(start)
	if elapsed < testWebhookSettings.FailureWindow-testWebhookSettings.MaxInterval || elapsed > testWebhookSettings.FailureWindow+time.Minute {
		t.Fatalf("disabled after %s, want about the failure window %s", elapsed, testWebhookSettings.FailureWindow)
	}
	if len(r.disabled) != 1 || r.disabled[0].EndpointID != "ep-1" || r.disabled[0].EventID == "" {
		t.Fatalf("disabled = %+v, want one call for ep-1 with an event ID", r.disabled)
	}
	if len(r.delivered) != 0 {
		t.Fatalf("delivered %v", r.delivered)
	}
	for _, a := range r.attempts {
		if a[:2] == "d2" {
			t.Fatalf("d2 attempted although d1 never went through: %v", r.attempts)
		}
	}
	var state WebhookState
	if v, err := env.QueryWorkflow(QueryWebhookState); err != nil || v.Get(&state) != nil || !state.Disabled {
		t.Fatalf("state %+v, query error %v", state, err)
	}
}

func TestWebhookWorkflow_GivesUpWhenTheEndpointIsTurnedOff(t *testing.T) {
	env, r := newWebhookEnv(t)
	r.fail = func(string, int32) error {
		return temporal.NewNonRetryableApplicationError("turned off", ErrWebhookInactive, nil)
	}
	signalAt(env, 0, "d1", "d2")
	env.ExecuteWorkflow(WebhookWorkflow, WebhookInput{EndpointID: "ep-1", Settings: testWebhookSettings})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(r.attempts) != 1 || len(r.dropped) != 1 || r.dropped[0].EndpointID != "ep-1" || len(r.disabled) != 0 {
		t.Fatalf("attempts %v dropped %v disabled %v; want one attempt, then the deliveries dropped", r.attempts, r.dropped, r.disabled)
	}
}

func TestWebhookWorkflow_DeliversADuplicateSignalOnce(t *testing.T) {
	env, r := newWebhookEnv(t)
	signalAt(env, 0, "d1", "d1", "d2")
	signalAt(env, time.Minute, "d1")
	env.ExecuteWorkflow(WebhookWorkflow, WebhookInput{EndpointID: "ep-1", Settings: testWebhookSettings})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"d1", "d2"}; !slices.Equal(r.delivered, want) {
		t.Fatalf("delivered %v, want %v", r.delivered, want)
	}
}

func TestWebhookWorkflow_ContinuesAsNewWithItsQueue(t *testing.T) {
	env, r := newWebhookEnv(t)
	ids := make([]string, webhookRunDeliveries+3)
	for i := range ids {
		ids[i] = fmt.Sprintf("d%04d", i)
	}
	// A queue carried from an earlier run (the test environment cannot
	// take a thousand signals at once).
	carried := &WebhookState{}
	for _, id := range ids {
		carried.Queue = append(carried.Queue, WebhookEventSignal{DeliveryID: id, EventID: "ev-" + id})
	}
	env.ExecuteWorkflow(WebhookWorkflow, WebhookInput{EndpointID: "ep-1", Settings: testWebhookSettings, Carried: carried})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("err = %v, want continue-as-new", err)
	}
	if len(r.delivered) != webhookRunDeliveries || r.delivered[0] != ids[0] {
		t.Fatalf("delivered %d in the first run, want %d", len(r.delivered), webhookRunDeliveries)
	}
	var next WebhookInput
	if err := converterDecode(can, &next); err != nil {
		t.Fatal(err)
	}
	if next.EndpointID != "ep-1" || next.Carried == nil || len(next.Carried.Queue) != 3 || next.Carried.Queue[0].DeliveryID != ids[webhookRunDeliveries] {
		t.Fatalf("carried %+v", next.Carried)
	}
	if next.Settings != testWebhookSettings {
		t.Fatalf("settings %+v, want %+v", next.Settings, testWebhookSettings)
	}

	// The next run delivers what was carried, first.
	env2, r2 := newWebhookEnv(t)
	signalAt(env2, 0, "late")
	env2.ExecuteWorkflow(WebhookWorkflow, next)
	if err := env2.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(ids[webhookRunDeliveries:]), "late")
	if !slices.Equal(r2.delivered, want) {
		t.Fatalf("second run delivered %v, want %v", r2.delivered, want)
	}
}

// converterDecode reads the input of the run a continue-as-new starts.
func converterDecode(can *workflow.ContinueAsNewError, v any) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, v)
}

func TestWebhookWorkflow_ContinuesAsNewWhileTheReceiverIsDownKeepingItsWindow(t *testing.T) {
	env, r := newWebhookEnv(t)
	r.fail = func(string, int32) error {
		return temporal.NewApplicationError("503 Service Unavailable", "WebhookFailed")
	}
	settings := testWebhookSettings
	settings.MaxRunSignals = 4
	signalAt(env, 0, "d1")
	signalAt(env, 10*time.Minute, "d2", "d3")
	signalAt(env, 20*time.Minute, "d4", "d5")
	start := env.Now()
	env.ExecuteWorkflow(WebhookWorkflow, WebhookInput{EndpointID: "ep-1", Settings: settings})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("err = %v, want continue-as-new while d1 was still failing", err)
	}
	var next WebhookInput
	if err := converterDecode(can, &next); err != nil {
		t.Fatal(err)
	}
	c := next.Carried
	if c == nil || len(c.Queue) != 5 || c.Queue[0].DeliveryID != "d1" || c.HeadSince == nil || !c.HeadSince.Equal(start) {
		t.Fatalf("carried %+v, want the five deliveries, d1 first, with its first attempt's time", c)
	}
	if len(r.delivered) != 0 || len(r.disabled) != 0 {
		t.Fatalf("delivered %v disabled %v", r.delivered, r.disabled)
	}
	if elapsed := env.Now().Sub(start); elapsed < 20*time.Minute || elapsed > 30*time.Minute {
		t.Fatalf("continued as new after %s, want right after the fourth signal (20 minutes)", elapsed)
	}
}
