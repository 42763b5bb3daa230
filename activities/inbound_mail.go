package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/workflows"
)

// InboundMail holds the activities of InboundMailWorkflow. The stored
// message is read through mail-in (the notification service's schema);
// accounts, tickets, comments and attachments are made by their services
// over their internal routes, with a service token, so each service keeps
// its own rules (who may comment on which ticket, which files are allowed).
type InboundMail struct {
	mail *notification.MailIn
	// bases are the root URLs of auth, helpdesk and messaging.
	auth, helpdesk, messaging string
	http                      *http.Client
}

// NewInboundMail returns the activities over mail-in and the services at
// the given root URLs (without their path prefixes), authenticating with
// tokens from src.
func NewInboundMail(mail *notification.MailIn, authURL, helpdeskURL, messagingURL string, src authn.TokenSource) *InboundMail {
	return &InboundMail{
		mail: mail, auth: authURL, helpdesk: helpdeskURL, messaging: messagingURL,
		http: &http.Client{Timeout: 50 * time.Second, Transport: &authn.Transport{Source: src}},
	}
}

// ClassifyMail decides what the stored message is.
func (a *InboundMail) ClassifyMail(ctx context.Context, in workflows.ClassifyMailInput) (workflows.ClassifyMailResult, error) {
	return a.mail.Classify(ctx, in.MessageRowID)
}

// ResolveSender returns the sender's account, made when unknown. A
// deactivated account is refused.
func (a *InboundMail) ResolveSender(ctx context.Context, in workflows.ResolveSenderInput) (workflows.ResolveSenderResult, error) {
	var u struct {
		ID      string `json:"id"`
		Role    string `json:"role"`
		Active  bool   `json:"active"`
		Created bool   `json:"created"`
	}
	if err := a.postJSON(ctx, a.auth+"/auth/internal/mail-senders", in, &u, "the account of "+in.Email); err != nil {
		return workflows.ResolveSenderResult{}, err
	}
	if !u.Active {
		return workflows.ResolveSenderResult{}, refused("the account of %s is deactivated", in.Email)
	}
	return workflows.ResolveSenderResult{UserID: u.ID, Role: u.Role, Created: u.Created}, nil
}

// OpenMailTicket opens the ticket of a new message.
func (a *InboundMail) OpenMailTicket(ctx context.Context, in workflows.OpenMailTicketInput) error {
	body := map[string]string{
		"id": in.TicketID, "requester_id": in.RequesterID, "title": in.Title,
		"description": in.Description, "category_id": in.CategoryID,
	}
	return a.postJSON(ctx, a.helpdesk+"/helpdesk/internal/mail-tickets", body, nil, "ticket "+in.TicketID)
}

// AddMailComment adds a reply as a public comment by its sender; the
// messaging service refuses it when the sender may not see the ticket.
func (a *InboundMail) AddMailComment(ctx context.Context, in workflows.AddMailCommentInput) error {
	body := map[string]string{"id": in.CommentID, "author_id": in.AuthorID, "author_role": in.AuthorRole, "body": in.Body}
	u := a.messaging + "/messaging/internal/tickets/" + url.PathEscape(in.TicketID) + "/comments"
	return a.postJSON(ctx, u, body, nil, "a comment on ticket "+in.TicketID)
}

// AttachMailFile uploads one attachment of the stored message to its
// ticket. A file the messaging service does not take (its type, its size)
// is skipped, not failed: the ticket or comment stands without it.
func (a *InboundMail) AttachMailFile(ctx context.Context, in workflows.AttachMailFileInput) (workflows.AttachMailFileResult, error) {
	f, err := a.mail.Attachment(ctx, in.MessageRowID, in.Index)
	if err != nil {
		return workflows.AttachMailFileResult{}, err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, f.Name))
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return workflows.AttachMailFileResult{}, err
	}
	if _, err := pw.Write(f.Data); err != nil {
		return workflows.AttachMailFileResult{}, err
	}
	if err := mw.Close(); err != nil {
		return workflows.AttachMailFileResult{}, err
	}
	q := url.Values{"id": {in.AttachmentID}, "uploader_id": {in.UploaderID}, "uploader_role": {in.UploaderRole}}
	u := a.messaging + "/messaging/internal/tickets/" + url.PathEscape(in.TicketID) + "/attachments?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &buf)
	if err != nil {
		return workflows.AttachMailFileResult{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, detail, err := a.do(req, nil)
	if err != nil {
		return workflows.AttachMailFileResult{}, fmt.Errorf("attach %s: %w", f.Name, err)
	}
	switch {
	case status/100 == 2:
		return workflows.AttachMailFileResult{}, nil
	case retryable(status):
		return workflows.AttachMailFileResult{}, fmt.Errorf("attach %s: %d %s", f.Name, status, detail)
	default:
		return workflows.AttachMailFileResult{Skipped: fmt.Sprintf("%s: %s", f.Name, problemDetail(detail))}, nil
	}
}

// RecordMailOutcome writes what became of the message.
func (a *InboundMail) RecordMailOutcome(ctx context.Context, in workflows.RecordMailOutcomeInput) error {
	return a.mail.RecordOutcome(ctx, in.MessageRowID, in.Result)
}

// postJSON posts body as JSON to u and decodes the answer into out (when
// not nil). A refusal (4xx other than 401, 408, 429) fails for good with
// ErrMailRefused; anything else is retried by Temporal.
func (a *InboundMail) postJSON(ctx context.Context, u string, body, out any, what string) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("request for %s: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/json")
	status, detail, err := a.do(req, out)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case status/100 == 2:
		return nil
	case retryable(status):
		return fmt.Errorf("%s: %d %s", what, status, detail)
	default:
		return refused("%s refused (%d): %s", what, status, problemDetail(detail))
	}
}

// do sends req; for a 2xx answer it decodes the body into out (when not
// nil), for any other it returns the start of the body.
func (a *InboundMail) do(req *http.Request, out any) (int, []byte, error) {
	res, err := a.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	if res.StatusCode/100 == 2 {
		if out != nil {
			if err := json.NewDecoder(res.Body).Decode(out); err != nil {
				return 0, nil, fmt.Errorf("decode answer: %w", err)
			}
		}
		return res.StatusCode, nil, nil
	}
	detail, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, detail, nil
}

// retryable reports whether a status is worth trying again.
func retryable(status int) bool {
	return status >= 500 || status == http.StatusUnauthorized || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}

// problemDetail returns the title or message of a problem+json body.
func problemDetail(body []byte) string {
	var p struct {
		Detail string `json:"detail"`
		Title  string `json:"title"`
	}
	if json.Unmarshal(body, &p) == nil && (p.Detail != "" || p.Title != "") {
		return strings.TrimSpace(p.Detail + " " + "(" + p.Title + ")")
	}
	return strings.TrimSpace(string(body))
}

// refused is a refusal that Temporal does not retry and the workflow
// records as the message's rejection.
func refused(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), workflows.ErrMailRefused, nil)
}
