package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// InboundMailWorkflow processes one inbound e-mail, stored by the mailbox
// poller or the Inbound Parse endpoint: it ignores loops, resolves the
// sender (making an account for an unknown one), adds a reply to its
// ticket as a public comment or opens a new ticket, attaches the files and
// records the outcome. Its ID derives from the Message-ID
// (InboundMailWorkflowID), so each message is processed once; every step is
// idempotent, so a retried step creates nothing twice.
func InboundMailWorkflow(ctx workflow.Context, in InboundMailInput) (InboundMailResult, error) {
	m := new(inboundMail)
	m.setup(ctx, in)
	return m.run(ctx)
}

// inboundMail is the state of one run.
type inboundMail struct {
	in     InboundMailInput
	log    interface{ Info(string, ...any) }
	result InboundMailResult
}

func (m *inboundMail) setup(ctx workflow.Context, in InboundMailInput) {
	m.in = in
	m.log = workflow.GetLogger(ctx)
}

// mailActivityOptions retry a step while a service is down, for up to a
// day; a refusal (ErrMailRefused) is not retried.
func mailActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: []string{ErrMailRefused},
		},
	}
}

// mailLocalActivityOptions are those of the short steps against mail-in's
// own store (classify, record the outcome), run as local activities: no
// task-queue round trip each.
func mailLocalActivityOptions() workflow.LocalActivityOptions {
	o := mailActivityOptions()
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: o.ScheduleToCloseTimeout,
		RetryPolicy:            o.RetryPolicy,
	}
}

func (m *inboundMail) run(ctx workflow.Context) (InboundMailResult, error) {
	ctx = workflow.WithActivityOptions(ctx, mailActivityOptions())
	ctx = workflow.WithLocalActivityOptions(ctx, mailLocalActivityOptions())
	var c ClassifyMailResult
	if err := workflow.ExecuteLocalActivity(ctx, ActivityClassifyMail, ClassifyMailInput{MessageRowID: m.in.MessageRowID}).Get(ctx, &c); err != nil {
		return InboundMailResult{}, fmt.Errorf("classify message %s: %w", m.in.MessageRowID, err)
	}
	switch {
	case c.Ignore != "":
		m.result = InboundMailResult{Outcome: MailOutcomeIgnored, Reason: c.Ignore}
		return m.finish(ctx)
	case c.Reject != "":
		m.result = InboundMailResult{Outcome: MailOutcomeRejected, Reason: c.Reject}
		return m.finish(ctx)
	}

	var sender ResolveSenderResult
	err := workflow.ExecuteActivity(ctx, ActivityResolveSender, ResolveSenderInput{Email: c.SenderEmail, Name: c.SenderName}).Get(ctx, &sender)
	if refused, ok := isRefusal(err); ok {
		m.result = InboundMailResult{Outcome: MailOutcomeRejected, Reason: refused}
		return m.finish(ctx)
	} else if err != nil {
		return InboundMailResult{}, fmt.Errorf("resolve sender of %s: %w", m.in.MessageRowID, err)
	}

	if c.ReplyTicketID != "" && (sender.Role == "agent" || sender.Role == "admin") && !c.ReplyVerified {
		m.result = InboundMailResult{Outcome: MailOutcomeRejected,
			Reason: "a reply from an agent's or admin's address must answer an e-mail sent to that address"}
		return m.finish(ctx)
	}
	if c.ReplyTicketID != "" {
		err = workflow.ExecuteActivity(ctx, ActivityAddMailComment, AddMailCommentInput{
			CommentID: c.CommentID, TicketID: c.ReplyTicketID, AuthorID: sender.UserID, AuthorRole: sender.Role, Body: c.Body,
		}).Get(ctx, nil)
		m.result = InboundMailResult{Outcome: MailOutcomeComment, TicketID: c.ReplyTicketID, CommentID: c.CommentID}
	} else {
		err = workflow.ExecuteActivity(ctx, ActivityOpenMailTicket, OpenMailTicketInput{
			TicketID: c.NewTicketID, RequesterID: sender.UserID, Title: c.Title, Description: c.Body, CategoryID: c.CategoryID,
		}).Get(ctx, nil)
		m.result = InboundMailResult{Outcome: MailOutcomeTicket, TicketID: c.NewTicketID}
	}
	if refused, ok := isRefusal(err); ok {
		m.result = InboundMailResult{Outcome: MailOutcomeRejected, Reason: refused}
		return m.finish(ctx)
	} else if err != nil {
		return InboundMailResult{}, fmt.Errorf("write message %s: %w", m.in.MessageRowID, err)
	}

	for i, id := range c.AttachmentIDs {
		var a AttachMailFileResult
		err := workflow.ExecuteActivity(ctx, ActivityAttachMailFile, AttachMailFileInput{
			MessageRowID: m.in.MessageRowID, Index: i, AttachmentID: id, TicketID: m.result.TicketID,
			UploaderID: sender.UserID, UploaderRole: sender.Role,
		}).Get(ctx, &a)
		if err != nil {
			return InboundMailResult{}, fmt.Errorf("attach file %d of %s: %w", i+1, m.in.MessageRowID, err)
		}
		if a.Skipped != "" {
			m.result.Skipped = append(m.result.Skipped, a.Skipped)
		} else {
			m.result.Attachments++
		}
	}
	return m.finish(ctx)
}

// finish records the outcome with the notification service and returns it.
func (m *inboundMail) finish(ctx workflow.Context) (InboundMailResult, error) {
	err := workflow.ExecuteLocalActivity(ctx, ActivityRecordMailOutcome, RecordMailOutcomeInput{MessageRowID: m.in.MessageRowID, Result: m.result}).Get(ctx, nil)
	if err != nil {
		return InboundMailResult{}, fmt.Errorf("record outcome of %s: %w", m.in.MessageRowID, err)
	}
	m.log.Info("inbound e-mail processed", "outcome", m.result.Outcome, "ticket_id", m.result.TicketID, "reason", m.result.Reason)
	return m.result, nil
}

// isRefusal reports whether err is an activity's ErrMailRefused, with its
// message.
func isRefusal(err error) (string, bool) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == ErrMailRefused {
		return app.Message(), true
	}
	return "", false
}
