package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// versionSurvey: resolving a ticket asks its requester for a rating.
// Runs that resolved a ticket before this change replay without the ask.
const versionSurvey = "survey-on-resolve"

// askForRating asks the helpdesk to invite the requester to rate the
// ticket just resolved. It does not wait for the answer, so the person who
// resolved the ticket is not kept waiting by the helpdesk or the mail;
// the activity retries on its own and a failure is only logged. The run
// waits for it before it ends, so a ticket closed right after its
// resolution still gets its survey.
func (t *ticket) askForRating(ctx workflow.Context) {
	if workflow.GetVersion(ctx, versionSurvey, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	t.s.Seq++
	in := RequestSurveyInput{
		RequestKey:  fmt.Sprintf("%s/%d", workflow.GetInfo(ctx).WorkflowExecution.ID, t.s.Seq),
		TicketID:    t.s.TicketID,
		RequesterID: t.s.RequesterID,
		AgentID:     t.s.AssigneeID,
		TeamID:      t.s.TeamID,
	}
	f := workflow.ExecuteActivity(surveyCtx(ctx), ActivityRequestSurvey, in)
	t.surveysPending++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { t.surveysPending-- }()
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("request survey", "ticket_id", in.TicketID, "error", err)
		}
	})
}

// surveyCtx retries a survey request for up to a day: a helpdesk that is
// down for a while still gets it.
func surveyCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: []string{ErrSurveyRefused},
		},
	})
}
