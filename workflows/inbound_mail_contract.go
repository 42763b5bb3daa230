package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// InboundMailWorkflowName is the registered name of InboundMailWorkflow.
const InboundMailWorkflowName = "InboundMailWorkflow"

// InboundMailWorkflowID is the workflow ID of an inbound e-mail: derived
// from its Message-ID (case-insensitive), so that the same message fetched
// twice, or posted by SendGrid and read from the mailbox, starts one run.
// scope is the deployment's task queue, so that desks sharing a Temporal
// namespace (the tests do) do not share their messages' runs.
func InboundMailWorkflowID(scope, messageID string) string {
	sum := sha256.Sum256([]byte(scope + "\x00" + strings.ToLower(strings.Trim(messageID, "<> "))))
	return "inbound-mail-" + hex.EncodeToString(sum[:20])
}

// Names of the activities InboundMailWorkflow runs, methods of
// activities.InboundMail.
const (
	// ActivityClassifyMail reads the stored message and decides what it is:
	// a loop to ignore, a reply to a ticket, or a new ticket (local activity).
	ActivityClassifyMail = "ClassifyMail"
	// ActivityResolveSender finds the sender's account, or makes a
	// passwordless employee account for an unknown sender.
	ActivityResolveSender = "ResolveSender"
	// ActivityOpenMailTicket opens the ticket of a new message.
	ActivityOpenMailTicket = "OpenMailTicket"
	// ActivityAddMailComment adds a reply as a public comment.
	ActivityAddMailComment = "AddMailComment"
	// ActivityAttachMailFile turns one attachment into a ticket attachment.
	ActivityAttachMailFile = "AttachMailFile"
	// ActivityRecordMailOutcome writes what became of the message (local
	// activity).
	ActivityRecordMailOutcome = "RecordMailOutcome"
)

// ErrMailRefused is the error type of an activity whose service refused
// the message for good: the sender may not see the ticket, the account is
// deactivated, the ticket cannot be opened. The run records a rejection.
const ErrMailRefused = "MailRefused"

// The outcomes of an inbound e-mail.
const (
	MailOutcomeTicket   = "ticket"   // it opened a ticket
	MailOutcomeComment  = "comment"  // it became a comment on a ticket
	MailOutcomeIgnored  = "ignored"  // a loop: auto-reply, bulk mail, our own mail, over the rate limit
	MailOutcomeRejected = "rejected" // refused: malformed, or a ticket the sender may not write to
)

// InboundMailInput starts InboundMailWorkflow for a stored message.
type InboundMailInput struct {
	// MessageRowID names the stored message in the notification service.
	MessageRowID string `json:"message_row_id"`
	// MessageID is its Message-ID, for people reading the run.
	MessageID string `json:"message_id"`
	Source    string `json:"source"`
}

// InboundMailResult is what became of the message.
type InboundMailResult struct {
	Outcome   string `json:"outcome"`
	TicketID  string `json:"ticket_id,omitempty"`
	CommentID string `json:"comment_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Attachments counts the files attached; Skipped names those the
	// messaging service refused (type, size), with why.
	Attachments int      `json:"attachments,omitempty"`
	Skipped     []string `json:"skipped,omitempty"`
}

// ClassifyMailInput is the argument of ActivityClassifyMail.
type ClassifyMailInput struct {
	MessageRowID string `json:"message_row_id"`
}

// ClassifyMailResult is the verdict on a stored message, with everything
// the later steps need. IDs of what the run creates are derived from the
// message, so each step is idempotent when retried.
type ClassifyMailResult struct {
	// Ignore is set for a loop (auto-reply, bulk, our own mail, rate limit);
	// Reject for a message that cannot be processed. Nothing else is set then.
	Ignore string `json:"ignore,omitempty"`
	Reject string `json:"reject,omitempty"`

	SenderEmail string `json:"sender_email"`
	SenderName  string `json:"sender_name"`
	// ReplyTicketID is the ticket the message answers; empty for a new one.
	ReplyTicketID string `json:"reply_ticket_id,omitempty"`
	// ReplyVerified is true when the message answers an e-mail we sent to
	// its sender's address. Replies from agents' and admins' addresses
	// must be, since a From field is easily forged.
	ReplyVerified bool `json:"reply_verified,omitempty"`
	// CategoryID is the category mapped from the receiving address; empty
	// for the helpdesk's default category.
	CategoryID  string `json:"category_id,omitempty"`
	Title       string `json:"title"`
	Body        string `json:"body"`
	NewTicketID string `json:"new_ticket_id"`
	CommentID   string `json:"comment_id"`
	// AttachmentIDs holds one ID per attachment, in the message's order.
	AttachmentIDs []string `json:"attachment_ids,omitempty"`
}

// ResolveSenderInput is the argument of ActivityResolveSender.
type ResolveSenderInput struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// ResolveSenderResult is the sender's account.
type ResolveSenderResult struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
	// Created is true when the account was made for this message.
	Created bool `json:"created"`
}

// OpenMailTicketInput is the argument of ActivityOpenMailTicket.
type OpenMailTicketInput struct {
	TicketID    string `json:"ticket_id"`
	RequesterID string `json:"requester_id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	CategoryID  string `json:"category_id,omitempty"`
}

// AddMailCommentInput is the argument of ActivityAddMailComment.
type AddMailCommentInput struct {
	CommentID  string `json:"comment_id"`
	TicketID   string `json:"ticket_id"`
	AuthorID   string `json:"author_id"`
	AuthorRole string `json:"author_role"`
	Body       string `json:"body"`
}

// AttachMailFileInput is the argument of ActivityAttachMailFile.
type AttachMailFileInput struct {
	MessageRowID string `json:"message_row_id"`
	Index        int    `json:"index"`
	AttachmentID string `json:"attachment_id"`
	TicketID     string `json:"ticket_id"`
	UploaderID   string `json:"uploader_id"`
	UploaderRole string `json:"uploader_role"`
}

// AttachMailFileResult says whether the file was attached, or why not.
type AttachMailFileResult struct {
	Skipped string `json:"skipped,omitempty"`
}

// RecordMailOutcomeInput is the argument of ActivityRecordMailOutcome.
type RecordMailOutcomeInput struct {
	MessageRowID string            `json:"message_row_id"`
	Result       InboundMailResult `json:"result"`
}
