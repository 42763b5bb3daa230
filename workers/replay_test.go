package workers

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ticketflow/ticketflow/workflows"
)

// TestReplay_RecordedHistories replays histories recorded from real runs of
// TicketWorkflow and InboundMailWorkflow (see RecordHistory). A change to the workflow that running
// tickets would replay differently fails here: put it behind
// workflow.GetVersion, then record a new history beside the old ones.
func TestReplay_RecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(workflows.TicketWorkflow)
			r.RegisterWorkflowWithOptions(workflows.InboundMailWorkflow, workflow.RegisterOptions{Name: workflows.InboundMailWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
