package loadtest

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bare baseline: a workflow with two no-op activities, the least a
// Temporal-driven pipeline can cost on a given server. Ticketflow's
// pipeline is judged against it, measured in the same run on the same
// server.
const (
	BaselineWorkflowName = "LoadBaselineWorkflow"
	baselineFirst        = "LoadBaselineFirst"
	baselineSecond       = "LoadBaselineSecond"
)

// BaselineTimeout ends a baseline run the server could not finish.
const BaselineTimeout = 2 * time.Minute

// BaselineWorkflow runs the two no-op activities one after the other, as
// ordinary (not local) activities.
func BaselineWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for _, name := range []string{baselineFirst, baselineSecond} {
		if err := workflow.ExecuteActivity(ctx, name).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func noop(context.Context) error { return nil }

// NewBaselineWorker returns a worker of the baseline on taskQueue, with the
// SDK's default options, as Ticketflow's own worker has them.
func NewBaselineWorker(c client.Client, taskQueue string) worker.Worker {
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(BaselineWorkflow, workflow.RegisterOptions{Name: BaselineWorkflowName})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: baselineFirst})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: baselineSecond})
	return w
}

// RunBaseline starts one baseline workflow with ID id on taskQueue and
// waits for its result. With eager, the start asks the server to hand the
// first workflow task straight back to this process's worker
// (StartWorkflowOptions.EnableEagerStart), as Ticketflow's starter does.
func RunBaseline(ctx context.Context, c client.Client, taskQueue, id string, eager bool) error {
	opts := client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue, EnableEagerStart: eager,
		// A run the load tool gave up on must not stay behind on a shared
		// server, waiting for a worker that is gone.
		WorkflowExecutionTimeout: BaselineTimeout,
	}
	run, err := c.ExecuteWorkflow(ctx, opts, BaselineWorkflowName)
	if err != nil {
		return Failed("start", fmt.Errorf("start baseline %s: %w", id, err))
	}
	if err := run.Get(ctx, nil); err != nil {
		return Failed("result", fmt.Errorf("baseline %s: %w", id, err))
	}
	return nil
}
