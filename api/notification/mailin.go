package notification

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/workflows"
)

// The sources of inbound e-mail.
const (
	SourceIMAP     = "imap"
	SourceSendGrid = "sendgrid"
)

// MailInConfig configures mail-in.
type MailInConfig struct {
	// PublicURL and From are the notification service's: our own mail is
	// recognised by its sender and its Message-ID host.
	PublicURL string
	From      string
	// RedisPrefix starts the keys of the per-sender rate limit.
	RedisPrefix string
	// TaskQueue is where InboundMailWorkflow runs.
	TaskQueue string
	// MaxBytes bounds a message; a larger one is refused. Default 25 MiB.
	MaxBytes int64
	// RateLimit messages per sender per RateWindow are processed; the
	// rest are ignored as a loop. Defaults 20 per hour.
	RateLimit  int
	RateWindow time.Duration
}

// MailIn turns inbound e-mail into tickets and comments. Ingest stores a
// message and starts its InboundMailWorkflow; the workflow's activities
// call Classify, Attachment and RecordOutcome.
type MailIn struct {
	pool     *pgxpool.Pool
	rdb      *redis.Client
	temporal client.Client
	log      *slog.Logger
	cfg      MailInConfig
	ownFrom  string
	mailHost string
}

// NewMailIn returns mail-in over the notification schema in pool. tc may
// be nil in a process that only runs the activities.
func NewMailIn(pool *pgxpool.Pool, rdb *redis.Client, tc client.Client, cfg MailInConfig, log *slog.Logger) (*MailIn, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("mail-in: public URL %q is not an absolute URL", cfg.PublicURL)
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail-in: sender address %q: %w", cfg.From, err)
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 25 << 20
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 20
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = time.Hour
	}
	return &MailIn{
		pool: pool, rdb: rdb, temporal: tc, log: log, cfg: cfg,
		ownFrom: strings.ToLower(from.Address), mailHost: messageIDHost(u.Hostname()),
	}, nil
}

// MaxBytes is the largest message accepted.
func (m *MailIn) MaxBytes() int64 { return m.cfg.MaxBytes }

// Ingested is a stored message and its run.
type Ingested struct {
	RowID      string
	MessageID  string
	WorkflowID string
	// Duplicate is true when the message had been stored before.
	Duplicate bool
	// Done is true when the message was processed before; Run is nil then.
	Done bool
	Run  client.WorkflowRun
}

// errTooLarge answers a message over the size limit.
func (m *MailIn) errTooLarge(size int64) error {
	return apperr.New(apperr.TooLarge, "the e-mail is %d bytes; at most %d are accepted", size, m.cfg.MaxBytes)
}

// Ingest stores the raw message and starts its InboundMailWorkflow, whose
// ID derives from the Message-ID; a message stored before is not stored
// again, and its run is not started again. A message over the size limit
// or one that is not readable MIME is refused (TooLarge, Unprocessable)
// and nothing is stored.
func (m *MailIn) Ingest(ctx context.Context, raw []byte, source string) (Ingested, error) {
	log := logging.FromContext(ctx, m.log).With("source", source, "size", len(raw))
	if int64(len(raw)) > m.cfg.MaxBytes {
		err := m.errTooLarge(int64(len(raw)))
		log.Warn("inbound e-mail refused: too large", "max", m.cfg.MaxBytes)
		return Ingested{}, err
	}
	pm, err := ParseMail(raw)
	if err != nil {
		log.Warn("inbound e-mail refused: malformed", "err", err)
		return Ingested{}, err
	}
	messageID := strings.ToLower(pm.MessageID)
	rowID, status, dup, err := insertInbound(ctx, m.pool, newID(), messageID, source, raw, pm.From.Email, pm.Subject)
	if err != nil {
		return Ingested{}, err
	}
	in := Ingested{RowID: rowID, MessageID: messageID, WorkflowID: workflows.InboundMailWorkflowID(m.cfg.TaskQueue, messageID), Duplicate: dup}
	log = log.With("message_id", messageID, "workflow_id", in.WorkflowID)
	if status != "received" {
		// Processed before, perhaps longer ago than Temporal keeps runs.
		in.Done = true
		log.Info("inbound e-mail already processed", "status", status)
		return in, nil
	}
	if m.temporal == nil {
		return Ingested{}, errors.New("mail-in: no Temporal client to start the workflow")
	}
	run, err := m.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        in.WorkflowID,
		TaskQueue: m.cfg.TaskQueue,
		// A completed run is never repeated; a failed one (a bug, a day of
		// retries exhausted) may be, when the message is read again.
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.InboundMailWorkflowName, workflows.InboundMailInput{MessageRowID: rowID, MessageID: messageID, Source: source})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		// The run completed: its result is still there.
		run, err = m.temporal.GetWorkflow(ctx, in.WorkflowID, ""), nil
	}
	if err != nil {
		return Ingested{}, fmt.Errorf("start workflow of e-mail %s: %w", messageID, err)
	}
	in.Run = run
	log.Info("inbound e-mail stored", "duplicate", dup, "run_id", run.GetRunID())
	return in, nil
}

// Wait waits for the run of in to finish and returns its result.
func (in Ingested) Wait(ctx context.Context) (workflows.InboundMailResult, error) {
	var res workflows.InboundMailResult
	if in.Run == nil {
		return res, nil
	}
	err := in.Run.Get(ctx, &res)
	return res, err
}

// Tokens that name a ticket: "[ticket:<id>]" or "[#<id>]" in the subject,
// "+ticket-<id>" or "+<id>" in the local part of the receiving address,
// and our thread's Message-ID "ticket-<id>@<host>".
var (
	subjectToken = regexp.MustCompile(`(?i)\[(?:ticket:|#)\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\]`)
	addressToken = regexp.MustCompile(`(?i)^[^@+]+\+(?:ticket-)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@`)
	threadToken  = regexp.MustCompile(`(?i)^ticket-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@(.+)$`)
	replyPrefix  = regexp.MustCompile(`(?i)^\s*((re|aw|sv|antw|wg|fw|fwd|tr)\s*(\[\d+\])?\s*:\s*)+`)
)

// Classify decides what the stored message is. Loops are ignored: mail
// marked automatic, our own mail, a sender over the rate limit. A reply is
// matched to its ticket by the Message-IDs it answers (the delivery log
// and our thread IDs) or by a ticket token in the subject or the receiving
// address; when these name different tickets the message is rejected.
func (m *MailIn) Classify(ctx context.Context, rowID string) (workflows.ClassifyMailResult, error) {
	raw, err := inboundRaw(ctx, m.pool, rowID)
	if err != nil {
		return workflows.ClassifyMailResult{}, err
	}
	pm, err := ParseMail(raw)
	if err != nil {
		return workflows.ClassifyMailResult{Reject: err.Error()}, nil
	}
	if pm.AutoReason != "" {
		return workflows.ClassifyMailResult{Ignore: "automatic mail (" + pm.AutoReason + ")"}, nil
	}
	if pm.From.Email == m.ownFrom {
		return workflows.ClassifyMailResult{Ignore: "our own mail (sender " + pm.From.Email + ")"}, nil
	}
	if ours, err := sentByUs(ctx, m.pool, pm.MessageID); err != nil {
		return workflows.ClassifyMailResult{}, err
	} else if ours {
		return workflows.ClassifyMailResult{Ignore: "our own mail (Message-ID in the delivery log)"}, nil
	}
	if over, err := m.overRateLimit(ctx, pm.From.Email, rowID); err != nil {
		return workflows.ClassifyMailResult{}, err
	} else if over {
		return workflows.ClassifyMailResult{Ignore: fmt.Sprintf("sender %s over the rate limit of %d e-mails per %s", pm.From.Email, m.cfg.RateLimit, m.cfg.RateWindow)}, nil
	}

	threadTicket, sentTo, err := m.threadTicket(ctx, append(append([]string{}, pm.InReplyTo...), pm.References...))
	if err != nil {
		return workflows.ClassifyMailResult{}, err
	}
	tokenTicket := ""
	if t := subjectToken.FindStringSubmatch(pm.Subject); t != nil {
		tokenTicket = strings.ToLower(t[1])
	}
	for _, r := range pm.Recipients {
		if t := addressToken.FindStringSubmatch(r); t != nil {
			if tokenTicket != "" && tokenTicket != strings.ToLower(t[1]) {
				return workflows.ClassifyMailResult{Reject: "the subject and the address name different tickets"}, nil
			}
			tokenTicket = strings.ToLower(t[1])
		}
	}
	if threadTicket != "" && tokenTicket != "" && threadTicket != tokenTicket {
		return workflows.ClassifyMailResult{Reject: fmt.Sprintf("the reply answers ticket %s but its token names ticket %s", threadTicket, tokenTicket)}, nil
	}
	res := workflows.ClassifyMailResult{
		SenderEmail: pm.From.Email, SenderName: pm.From.Name,
		ReplyTicketID: cmpOr(threadTicket, tokenTicket),
		// From is easily forged; a reply to an e-mail we sent to that very
		// address at least names a Message-ID only its recipient saw.
		ReplyVerified: sentTo != "" && sentTo == pm.From.Email,
	}
	row := uuid.MustParse(rowID)
	res.NewTicketID = uuid.NewSHA1(row, []byte("ticket")).String()
	res.CommentID = uuid.NewSHA1(row, []byte("comment")).String()
	for i := range pm.Attachments {
		res.AttachmentIDs = append(res.AttachmentIDs, uuid.NewSHA1(row, fmt.Appendf(nil, "attachment-%d", i)).String())
	}
	title := strings.TrimSpace(subjectToken.ReplaceAllString(replyPrefix.ReplaceAllString(pm.Subject, ""), ""))
	if title == "" {
		title = "(no subject)"
	}
	res.Title = truncate(title, 200)
	res.Body = limitBytes(TrimReply(pm.Text), 60<<10)
	if strings.TrimSpace(res.Body) == "" {
		res.Body = "(no text)"
	}
	if res.ReplyTicketID == "" {
		if res.CategoryID, err = categoryFor(ctx, m.pool, pm.Recipients); err != nil {
			return workflows.ClassifyMailResult{}, err
		}
	}
	return res, nil
}

// threadTicket returns the ticket of the newest of ids (Message-IDs the
// message answers) that we sent, with the address we sent it to, or else
// the ticket of one of our thread IDs among them; "" for none.
func (m *MailIn) threadTicket(ctx context.Context, ids []string) (string, string, error) {
	if len(ids) == 0 {
		return "", "", nil
	}
	if t, to, err := ticketOfDelivery(ctx, m.pool, ids); err != nil || t != "" {
		return t, to, err
	}
	for _, id := range ids {
		if t := threadToken.FindStringSubmatch(id); t != nil && strings.EqualFold(t[2], m.mailHost) {
			return strings.ToLower(t[1]), "", nil
		}
	}
	return "", "", nil
}

// overRateLimit counts the message against its sender's limit: a sorted
// set per sender of the messages in the window, keyed by the stored row,
// so a retried classification counts the message once.
func (m *MailIn) overRateLimit(ctx context.Context, sender, rowID string) (bool, error) {
	key := m.cfg.RedisPrefix + "mailin:rate:" + sender
	now := time.Now()
	pipe := m.rdb.TxPipeline()
	pipe.ZRemRangeByScore(ctx, key, "-inf", fmt.Sprint(now.Add(-m.cfg.RateWindow).UnixMilli()))
	pipe.ZAddNX(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: rowID})
	rank := pipe.ZRank(ctx, key, rowID)
	pipe.PExpire(ctx, key, m.cfg.RateWindow)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("mail-in rate limit of %s: %w", sender, err)
	}
	return rank.Val() >= int64(m.cfg.RateLimit), nil
}

// Attachment returns attachment index of the stored message.
func (m *MailIn) Attachment(ctx context.Context, rowID string, index int) (ParsedAttachment, error) {
	raw, err := inboundRaw(ctx, m.pool, rowID)
	if err != nil {
		return ParsedAttachment{}, err
	}
	pm, err := ParseMail(raw)
	if err != nil {
		return ParsedAttachment{}, err
	}
	if index < 0 || index >= len(pm.Attachments) {
		return ParsedAttachment{}, apperr.New(apperr.NotFound, "message %s has no attachment %d", rowID, index)
	}
	return pm.Attachments[index], nil
}

// RecordOutcome writes what became of the stored message.
func (m *MailIn) RecordOutcome(ctx context.Context, rowID string, res workflows.InboundMailResult) error {
	if err := updateInboundOutcome(ctx, m.pool, rowID, res); err != nil {
		return err
	}
	logging.FromContext(ctx, m.log).Info("inbound e-mail processed", "row_id", rowID, "outcome", res.Outcome,
		"ticket_id", res.TicketID, "comment_id", res.CommentID, "reason", res.Reason)
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// limitBytes cuts s to at most n bytes at a character boundary.
func limitBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
