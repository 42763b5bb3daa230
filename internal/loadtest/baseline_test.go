package loadtest

import (
	"context"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
)

func TestBaselineWorkflow_RunsBothActivities(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	ran := map[string]int{}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		ran[info.ActivityType.Name]++
	})
	env.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: baselineFirst})
	env.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: baselineSecond})
	env.ExecuteWorkflow(BaselineWorkflow)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if ran[baselineFirst] != 1 || ran[baselineSecond] != 1 {
		t.Fatalf("activities run: %v", ran)
	}
}
