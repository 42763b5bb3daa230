package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// mailBackend stands in for mail-in and the services: it records every
// call and answers as configured.
type mailBackend struct {
	mu       sync.Mutex
	classify ClassifyMailResult
	// commentRefused makes AddMailComment refuse the reply.
	commentRefused bool
	// ticketFailures is how often OpenMailTicket fails (transiently)
	// before it succeeds.
	ticketFailures int
	// skip names the attachment indexes the messaging service refuses.
	skip map[int]bool
	// role is the sender's role; employee when empty.
	role string

	tickets  []OpenMailTicketInput
	comments []AddMailCommentInput
	files    []AttachMailFileInput
	outcomes []RecordMailOutcomeInput
	opens    int
}

func (b *mailBackend) ClassifyMail(context.Context, ClassifyMailInput) (ClassifyMailResult, error) {
	return b.classify, nil
}

func (b *mailBackend) ResolveSender(_ context.Context, in ResolveSenderInput) (ResolveSenderResult, error) {
	role := b.role
	if role == "" {
		role = "employee"
	}
	return ResolveSenderResult{UserID: "user-" + in.Email, Role: role}, nil
}

func (b *mailBackend) OpenMailTicket(_ context.Context, in OpenMailTicketInput) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opens++
	if b.opens <= b.ticketFailures {
		return errors.New("helpdesk unavailable")
	}
	b.tickets = append(b.tickets, in)
	return nil
}

func (b *mailBackend) AddMailComment(_ context.Context, in AddMailCommentInput) error {
	if b.commentRefused {
		return temporal.NewNonRetryableApplicationError("a comment on ticket refused (404): no such ticket", ErrMailRefused, nil)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.comments = append(b.comments, in)
	return nil
}

func (b *mailBackend) AttachMailFile(_ context.Context, in AttachMailFileInput) (AttachMailFileResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.skip[in.Index] {
		return AttachMailFileResult{Skipped: "virus.exe: this type of file cannot be attached"}, nil
	}
	b.files = append(b.files, in)
	return AttachMailFileResult{}, nil
}

func (b *mailBackend) RecordMailOutcome(_ context.Context, in RecordMailOutcomeInput) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.outcomes = append(b.outcomes, in)
	return nil
}

// runInboundMail runs one InboundMailWorkflow against b, with time
// skipping, and returns its result.
func runInboundMail(t *testing.T, b *mailBackend) (InboundMailResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(InboundMailWorkflow, workflowRegisterOptions(InboundMailWorkflowName))
	for name, fn := range map[string]any{
		ActivityClassifyMail: b.ClassifyMail, ActivityResolveSender: b.ResolveSender, ActivityOpenMailTicket: b.OpenMailTicket,
		ActivityAddMailComment: b.AddMailComment, ActivityAttachMailFile: b.AttachMailFile, ActivityRecordMailOutcome: b.RecordMailOutcome,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	env.ExecuteWorkflow(InboundMailWorkflowName, InboundMailInput{MessageRowID: "row-1", MessageID: "m@example.org", Source: "imap"})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res InboundMailResult
	if err := env.GetWorkflowError(); err != nil {
		return res, err
	}
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func newMessage() ClassifyMailResult {
	return ClassifyMailResult{
		SenderEmail: "jo@example.org", SenderName: "Jo", Title: "Printer", Body: "It jams.",
		CategoryID: "cat-1", NewTicketID: "ticket-new", CommentID: "comment-1",
		AttachmentIDs: []string{"att-0", "att-1", "att-2"},
	}
}

func TestInboundMail_NewMessageOpensTicketWithFiles(t *testing.T) {
	b := &mailBackend{classify: newMessage(), skip: map[int]bool{1: true}}
	res, err := runInboundMail(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != MailOutcomeTicket || res.TicketID != "ticket-new" || res.Attachments != 2 || len(res.Skipped) != 1 {
		t.Fatalf("result %+v", res)
	}
	if len(b.tickets) != 1 || b.tickets[0].RequesterID != "user-jo@example.org" || b.tickets[0].CategoryID != "cat-1" || b.tickets[0].Description != "It jams." {
		t.Fatalf("tickets %+v", b.tickets)
	}
	if len(b.comments) != 0 {
		t.Fatalf("a new message made comments: %+v", b.comments)
	}
	if len(b.files) != 2 || b.files[0].AttachmentID != "att-0" || b.files[1].AttachmentID != "att-2" || b.files[1].TicketID != "ticket-new" {
		t.Fatalf("files %+v", b.files)
	}
	if len(b.outcomes) != 1 || b.outcomes[0].Result.Outcome != MailOutcomeTicket || b.outcomes[0].MessageRowID != "row-1" {
		t.Fatalf("outcomes %+v", b.outcomes)
	}
}

func TestInboundMail_ReplyBecomesComment(t *testing.T) {
	c := newMessage()
	c.ReplyTicketID, c.AttachmentIDs = "ticket-old", nil
	b := &mailBackend{classify: c}
	res, err := runInboundMail(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != MailOutcomeComment || res.TicketID != "ticket-old" || res.CommentID != "comment-1" {
		t.Fatalf("result %+v", res)
	}
	if len(b.tickets) != 0 || len(b.comments) != 1 || b.comments[0].AuthorID != "user-jo@example.org" || b.comments[0].TicketID != "ticket-old" {
		t.Fatalf("tickets %+v comments %+v", b.tickets, b.comments)
	}
}

func TestInboundMail_LoopIsIgnoredAndNothingWritten(t *testing.T) {
	b := &mailBackend{classify: ClassifyMailResult{Ignore: "automatic mail (Auto-Submitted: auto-replied)"}}
	res, err := runInboundMail(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != MailOutcomeIgnored || len(b.tickets)+len(b.comments)+len(b.files) != 0 {
		t.Fatalf("result %+v, backend %+v", res, b)
	}
	if len(b.outcomes) != 1 || b.outcomes[0].Result.Reason == "" {
		t.Fatalf("outcomes %+v", b.outcomes)
	}
}

func TestInboundMail_RefusedReplyIsRejected(t *testing.T) {
	c := newMessage()
	c.ReplyTicketID = "ticket-of-someone-else"
	b := &mailBackend{classify: c, commentRefused: true}
	res, err := runInboundMail(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != MailOutcomeRejected || res.CommentID != "" || len(b.files) != 0 {
		t.Fatalf("result %+v, files %+v", res, b.files)
	}
	if len(b.outcomes) != 1 || b.outcomes[0].Result.Outcome != MailOutcomeRejected {
		t.Fatalf("outcomes %+v", b.outcomes)
	}
}

func TestInboundMail_ServiceDownIsRetriedWithBackoff(t *testing.T) {
	c := newMessage()
	c.AttachmentIDs = nil
	// Five failures back off 1+2+4+8+16 s of workflow time, skipped.
	b := &mailBackend{classify: c, ticketFailures: 5}
	start := time.Now()
	res, err := runInboundMail(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != MailOutcomeTicket || b.opens != 6 || len(b.tickets) != 1 {
		t.Fatalf("result %+v after %d tries", res, b.opens)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("the backoff was waited out in real time: %v", time.Since(start))
	}
}

func TestInboundMailWorkflowID_FollowsTheMessageID(t *testing.T) {
	a := InboundMailWorkflowID("q", "<ABC@example.org>")
	if a != InboundMailWorkflowID("q", "abc@example.org") {
		t.Fatal("the same Message-ID in another case or with brackets gives another workflow ID")
	}
	if a == InboundMailWorkflowID("q", "abd@example.org") {
		t.Fatal("two Message-IDs give one workflow ID")
	}
	if a == InboundMailWorkflowID("other", "abc@example.org") {
		t.Fatal("two task queues share a workflow ID")
	}
}

func workflowRegisterOptions(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name}
}

func TestInboundMail_StaffReplyMustAnswerMailSentToIt(t *testing.T) {
	c := newMessage()
	c.ReplyTicketID, c.AttachmentIDs = "ticket-old", nil
	b := &mailBackend{classify: c, role: "admin"}
	res, err := runInboundMail(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != MailOutcomeRejected || len(b.comments) != 0 {
		t.Fatalf("an unverified reply from an admin's address: %+v, comments %+v", res, b.comments)
	}

	c.ReplyVerified = true
	b = &mailBackend{classify: c, role: "agent"}
	if res, err = runInboundMail(t, b); err != nil || res.Outcome != MailOutcomeComment || len(b.comments) != 1 || b.comments[0].AuthorRole != "agent" {
		t.Fatalf("a verified reply from an agent: %+v %v, comments %+v", res, err, b.comments)
	}
}
