package temporalx_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ticketflow/ticketflow/internal/temporalx"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// These tests talk to the real dev server at TEST_TEMPORAL_ADDRESS, which
// `make test` starts when none runs.

func dial(t *testing.T, namespace string) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := temporalx.Dial(ctx, testenv.TemporalAddress(), namespace, testenv.Logger(t))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestDial_AnswersHealthCheck(t *testing.T) {
	c := dial(t, "default")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := temporalx.CheckHealth(ctx, c); err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
}

func TestDial_FailsWhenNothingListens(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := temporalx.Dial(ctx, "127.0.0.1:1", "default", testenv.Logger(t))
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded without a server")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error %q does not name the address", err)
	}
}

func TestEnsureSearchAttributes_RegistersMissingOnesIdempotently(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A fresh namespace has none of ours, so the first call must add all six.
	ns := freshNamespace(ctx, t, dial(t, "default"))
	c := dial(t, ns)

	for i := range 2 {
		if err := temporalx.EnsureSearchAttributes(ctx, c, ns); err != nil {
			t.Fatalf("EnsureSearchAttributes call %d: %v", i+1, err)
		}
	}

	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatalf("list search attributes: %v", err)
	}
	for _, key := range temporalx.SearchAttributes() {
		if got := list.GetCustomAttributes()[key.GetName()]; got != key.GetValueType() {
			t.Errorf("%s: type %s, want %s", key.GetName(), got, key.GetValueType())
		}
	}
}

func TestEnsureSearchAttributes_RejectsAnotherType(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ns := freshNamespace(ctx, t, dial(t, "default"))
	c := dial(t, ns)
	_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        ns,
		SearchAttributes: map[string]enumspb.IndexedValueType{"SlaBreached": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	})
	if err != nil {
		t.Fatalf("add SlaBreached as keyword: %v", err)
	}

	err = temporalx.EnsureSearchAttributes(ctx, c, ns)
	if err == nil || !strings.Contains(err.Error(), "SlaBreached") {
		t.Fatalf("EnsureSearchAttributes = %v, want an error naming SlaBreached", err)
	}
}

// freshNamespace registers a namespace of the test's own, waits until the
// frontend knows it, and deletes it at cleanup.
func freshNamespace(ctx context.Context, t *testing.T, c client.Client) string {
	t.Helper()
	ns := testenv.Name("ns")
	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	if err != nil {
		t.Fatalf("register namespace %s: %v", ns, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: ns}); err != nil {
			t.Logf("delete namespace %s: %v", ns, err)
		}
	})
	for {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		var notFound *serviceerror.NamespaceNotFound
		if err == nil {
			return ns
		}
		if !errors.As(err, &notFound) {
			t.Fatalf("describe namespace %s: %v", ns, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("namespace %s not usable: %v", ns, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func greetWorkflow(ctx workflow.Context, name string) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, temporalx.TicketStatus.ValueSet("triage")); err != nil {
		return "", err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var greeting string
	err := workflow.ExecuteActivity(ctx, greet, name).Get(ctx, &greeting)
	return greeting, err
}

func greet(_ context.Context, name string) (string, error) {
	return "hello " + name, nil
}

func TestWorkflow_RunsActivityAndKeepsSearchAttributes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dial(t, "default")
	if err := temporalx.EnsureSearchAttributes(ctx, c, "default"); err != nil {
		t.Fatalf("EnsureSearchAttributes: %v", err)
	}

	queue := testenv.Name("tq")
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(greetWorkflow)
	w.RegisterActivity(greet)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)

	ticketID := testenv.Name("ticket")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        "ticket-" + ticketID,
		TaskQueue: queue,
		// The worker shares this client, so the server may hand the first
		// workflow task back in the start response (allowed by scripts/temporal.sh).
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporalx.TicketID.ValueSet(ticketID),
			temporalx.SLABreached.ValueSet(false),
		),
	}, greetWorkflow, "ticketflow")
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	var greeting string
	if err := run.Get(ctx, &greeting); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if greeting != "hello ticketflow" {
		t.Errorf("result %q, want %q", greeting, "hello ticketflow")
	}

	desc, err := c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatalf("describe workflow: %v", err)
	}
	sa := desc.TypedSearchAttributes
	if got, _ := sa.GetKeyword(temporalx.TicketID); got != ticketID {
		t.Errorf("TicketId = %q, want %q", got, ticketID)
	}
	if got, _ := sa.GetKeyword(temporalx.TicketStatus); got != "triage" {
		t.Errorf("TicketStatus = %q, want triage", got)
	}
	if got, ok := sa.GetBool(temporalx.SLABreached); !ok || got {
		t.Errorf("SlaBreached = %v (set %v), want false", got, ok)
	}
}
