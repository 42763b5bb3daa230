package notification

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"
)

// sendGridEndpoint is the path of SendGrid's v3 mail-send API.
const sendGridEndpoint = "/v3/mail/send"

// SendGridConfig configures the SendGrid transport.
type SendGridConfig struct {
	APIKey string
	// BaseURL is the API's base URL; empty means the library's default,
	// SendGrid's public API. Tests point it at a local server.
	BaseURL string
	// HTTPClient makes the requests; nil means one with a 30-second timeout.
	HTTPClient *http.Client
}

// SendGridMailer sends e-mail through SendGrid's v3 mail-send API.
type SendGridMailer struct {
	key     string
	baseURL string
	client  *rest.Client
}

// NewSendGridMailer returns a SendGrid transport.
func NewSendGridMailer(cfg SendGridConfig) *SendGridMailer {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &SendGridMailer{key: cfg.APIKey, baseURL: strings.TrimRight(cfg.BaseURL, "/"), client: &rest.Client{HTTPClient: hc}}
}

// Send posts m to SendGrid. SendGrid answers 202 when it accepted the
// message; 429 (rate limited) and 5xx are worth a retry, and so is a
// network failure; any other answer (400 bad request, 401/403 a bad or
// under-privileged key, 413 too large) is permanent.
func (s *SendGridMailer) Send(ctx context.Context, m Message) error {
	// An empty host makes the library use its default, the public API.
	req := sendgrid.GetRequest(s.key, sendGridEndpoint, s.baseURL)
	req.Method = rest.Post
	req.Body = sgmail.GetRequestBody(sendGridMessage(m))
	res, err := s.client.SendWithContext(ctx, req)
	if err != nil {
		return fmt.Errorf("sendgrid: %w", err)
	}
	switch code := res.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return fmt.Errorf("sendgrid answered %d: %s", code, truncate(res.Body, 500))
	default:
		return fmt.Errorf("%w: sendgrid answered %d: %s", ErrPermanent, code, truncate(res.Body, 500))
	}
}

// sendGridMessage is m as a v3 mail-send request: one personalization
// with the one recipient, the text part before the HTML one (the order the
// API requires), and the threading headers as custom headers.
func sendGridMessage(m Message) *sgmail.SGMailV3 {
	v3 := sgmail.NewV3Mail()
	v3.SetFrom(sgmail.NewEmail(m.From.Name, m.From.Email))
	v3.Subject = m.Subject
	p := sgmail.NewPersonalization()
	p.AddTos(sgmail.NewEmail(m.To.Name, m.To.Email))
	v3.AddPersonalizations(p)
	v3.AddContent(sgmail.NewContent("text/plain", m.Text), sgmail.NewContent("text/html", m.HTML))
	for _, h := range m.Headers() {
		v3.SetHeader(h.Name, h.Value)
	}
	return v3
}
