// Package config reads Ticketflow's configuration from environment variables.
// Every variable has a working local default; a malformed value stops the
// process at start with an error naming the variable.
package config

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the configuration shared by every process. The README documents
// each variable; keep the two in step.
type Config struct {
	// Env is "development" or "production". Development enables conveniences
	// such as the auto-provisioned service account of `ticketflow dev`.
	Env string `env:"TICKETFLOW_ENV" envDefault:"development"`
	// HTTPAddr overrides the listen address of `dev` (:8080) and `serve` (8081–8085).
	HTTPAddr string `env:"HTTP_ADDR"`
	// PprofAddr, when set, serves net/http/pprof on a listener of its own at
	// this address in `dev`, `serve` and `worker`; empty (the default) turns
	// it off. Bind it to loopback: profiles show internals.
	PprofAddr string `env:"PPROF_ADDR"`
	// PublicURL is where users reach the web app; used in links and e-mails.
	PublicURL string `env:"PUBLIC_URL" envDefault:"http://127.0.0.1:8080"`

	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`
	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`

	DatabaseURL      string `env:"DATABASE_URL" envDefault:"postgres://postgres@127.0.0.1:5432/ticketflow?sslmode=disable"`
	DatabaseMaxConns int32  `env:"DATABASE_MAX_CONNS" envDefault:"10"`
	// Per-service database URLs; empty means DatabaseURL.
	AuthDatabaseURL         string `env:"AUTH_DATABASE_URL"`
	HelpdeskDatabaseURL     string `env:"HELPDESK_DATABASE_URL"`
	WorkflowDatabaseURL     string `env:"WORKFLOW_DATABASE_URL"`
	MessagingDatabaseURL    string `env:"MESSAGING_DATABASE_URL"`
	NotificationDatabaseURL string `env:"NOTIFICATION_DATABASE_URL"`

	AMQPURL      string `env:"AMQP_URL" envDefault:"amqp://guest:guest@127.0.0.1:5672/"`
	AMQPExchange string `env:"AMQP_EXCHANGE" envDefault:"ticketflow.events"`

	RedisURL string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0"`
	// RedisPrefix starts every key and channel Ticketflow writes, so several
	// installations (or test runs) can share one Redis.
	RedisPrefix string `env:"REDIS_PREFIX" envDefault:"ticketflow:"`

	TemporalAddress   string `env:"TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233"`
	TemporalNamespace string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	TemporalTaskQueue string `env:"TEMPORAL_TASK_QUEUE" envDefault:"ticketflow"`
	TemporalUIURL     string `env:"TEMPORAL_UI_URL" envDefault:"http://127.0.0.1:8233"`

	// JWT settings shared by the issuer (auth) and every verifier.
	JWTIssuer   string        `env:"JWT_ISSUER" envDefault:"ticketflow"`
	JWTAudience string        `env:"JWT_AUDIENCE" envDefault:"ticketflow"`
	AccessTTL   time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTTL  time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"720h"`
	// PasswordResetTTL is how long a mailed password reset link works.
	PasswordResetTTL time.Duration `env:"PASSWORD_RESET_TTL" envDefault:"1h"`
	// JWKSURL is where services other than auth fetch the signing keys.
	JWKSURL string `env:"JWKS_URL" envDefault:"http://127.0.0.1:8081/auth/.well-known/jwks.json"`
	// SigningKeyRotation is how old the active signing key may grow before
	// auth makes a new one at start. Zero disables rotation.
	SigningKeyRotation time.Duration `env:"SIGNING_KEY_ROTATION" envDefault:"720h"`

	// Service account used by this process to call other services.
	ServiceClientID     string `env:"SERVICE_CLIENT_ID"`
	ServiceClientSecret string `env:"SERVICE_CLIENT_SECRET"`
	// Base URLs of the services, for calls between them. `ticketflow dev`
	// ignores them: there every service is in the one process.
	AuthURL     string `env:"AUTH_URL" envDefault:"http://127.0.0.1:8081"`
	HelpdeskURL string `env:"HELPDESK_URL" envDefault:"http://127.0.0.1:8082"`
	WorkflowURL string `env:"WORKFLOW_URL" envDefault:"http://127.0.0.1:8083"`
	// MessagingURL is messaging's base URL (mail-in adds replies and files there).
	MessagingURL string `env:"MESSAGING_URL" envDefault:"http://127.0.0.1:8084"`

	// Login rate limits: attempts per window, per account and per client address.
	LoginLimitPerAccount int           `env:"LOGIN_LIMIT_PER_ACCOUNT" envDefault:"5"`
	LoginLimitPerAddress int           `env:"LOGIN_LIMIT_PER_ADDRESS" envDefault:"20"`
	LoginLimitWindow     time.Duration `env:"LOGIN_LIMIT_WINDOW" envDefault:"15m"`
	// TrustProxy makes the client address come from X-Forwarded-For /
	// X-Real-IP, as set by the gateway. Leave off when clients connect directly.
	TrustProxy bool `env:"TRUST_PROXY" envDefault:"false"`

	// WebDist is the built web app (web/dist) that `ticketflow dev` serves at /.
	WebDist string `env:"WEB_DIST" envDefault:"web/dist"`

	// CursorSecret signs pagination cursors; every replica needs the same one.
	CursorSecret string `env:"CURSOR_SECRET" envDefault:"development-cursor-secret"`

	// SurveySecret signs the one-click satisfaction survey links mailed to
	// requesters (HMAC-SHA256); every helpdesk replica needs the same one.
	// Empty, a key derived from CursorSecret is used (see
	// SurveyLinkSecret). A link expires SurveyLinkTTL after it was sent.
	SurveySecret  string        `env:"SURVEY_SECRET"`
	SurveyLinkTTL time.Duration `env:"SURVEY_LINK_TTL" envDefault:"168h"`

	// Messaging: where attachments are kept and how large they may be, how
	// long an author may edit a comment, which browser origins may open the
	// WebSocket (empty: PUBLIC_URL's and the local development ones), and
	// how long a "may see this ticket" answer of the helpdesk is reused.
	AttachmentsDir     string        `env:"ATTACHMENTS_DIR" envDefault:".data/attachments"`
	MaxAttachmentBytes int64         `env:"MAX_ATTACHMENT_BYTES" envDefault:"26214400"`
	CommentEditWindow  time.Duration `env:"COMMENT_EDIT_WINDOW" envDefault:"15m"`
	WSAllowedOrigins   []string      `env:"WS_ALLOWED_ORIGINS" envSeparator:","`
	AccessCacheTTL     time.Duration `env:"ACCESS_CACHE_TTL" envDefault:"30s"`

	MaxBodyBytes   int64         `env:"MAX_BODY_BYTES" envDefault:"1048576"`
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT" envDefault:"30s"`
	ShutdownGrace  time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s"`

	// E-mail of the notification service: through SendGrid when
	// SENDGRID_API_KEY is set, else through SMTP when SMTP_URL is set,
	// else written as .eml files into MAIL_DIR (the development default).
	SendGridAPIKey string `env:"SENDGRID_API_KEY"`
	// SendGridBaseURL overrides the SendGrid API's base URL; empty means
	// the client library's default, SendGrid's public API.
	SendGridBaseURL string `env:"SENDGRID_BASE_URL"`
	// SMTPURL is smtp://user:password@host:587?starttls=required&auth=plain
	// (STARTTLS) or smtps://user:password@host:465 (TLS from the start);
	// see notification.SMTPConfig.
	SMTPURL string `env:"SMTP_URL"`
	// MailFrom is the sender of every e-mail.
	MailFrom string `env:"MAIL_FROM" envDefault:"Ticketflow <ticketflow@localhost>"`
	// MailDir receives the e-mails as .eml files when no transport is set.
	MailDir string `env:"MAIL_DIR" envDefault:".data/mail"`

	// E-mail in. IMAPURL, when set, has `worker` (and `dev`) poll that
	// mailbox's IMAPFolder every IMAPInterval; processed messages are
	// flagged, or moved to IMAPProcessedFolder when set.
	// MailInSendGridSecret, when set, opens POST /notifications/inbound/sendgrid
	// to SendGrid Inbound Parse posts carrying it as the HTTP Basic password.
	// A message over MailInMaxBytes is refused; a sender's messages beyond
	// MailInRateLimit per MailInRateWindow are ignored as a loop.
	IMAPURL              string        `env:"IMAP_URL"`
	IMAPFolder           string        `env:"IMAP_FOLDER" envDefault:"INBOX"`
	IMAPProcessedFolder  string        `env:"IMAP_PROCESSED_FOLDER"`
	IMAPInterval         time.Duration `env:"IMAP_INTERVAL" envDefault:"30s"`
	MailInSendGridSecret string        `env:"MAIL_IN_SENDGRID_SECRET"`
	MailInMaxBytes       int64         `env:"MAIL_IN_MAX_BYTES" envDefault:"26214400"`
	MailInRateLimit      int           `env:"MAIL_IN_RATE_LIMIT" envDefault:"20"`
	MailInRateWindow     time.Duration `env:"MAIL_IN_RATE_WINDOW" envDefault:"1h"`

	// Webhooks out. WebhookAllowPrivate lets webhook URLs reach private,
	// loopback, link-local and other internal addresses: for development
	// and tests only, off by default. A delivery still failing
	// WebhookFailureWindow after its first attempt disables its endpoint;
	// attempts back off from WebhookRetryInterval, doubling, up to
	// WebhookMaxRetryInterval; one attempt lasts at most WebhookTimeout.
	WebhookAllowPrivate     bool          `env:"WEBHOOK_ALLOW_PRIVATE" envDefault:"false"`
	WebhookFailureWindow    time.Duration `env:"WEBHOOK_FAILURE_WINDOW" envDefault:"24h"`
	WebhookRetryInterval    time.Duration `env:"WEBHOOK_RETRY_INTERVAL" envDefault:"1s"`
	WebhookMaxRetryInterval time.Duration `env:"WEBHOOK_MAX_RETRY_INTERVAL" envDefault:"10m"`
	WebhookTimeout          time.Duration `env:"WEBHOOK_TIMEOUT" envDefault:"10s"`
}

// Load reads the configuration from the environment and checks it.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", nameVariables(err))
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// nameVariables rewrites env's parse errors, which name Go fields, to name
// the environment variables a user sets.
func nameVariables(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	keys := map[string]string{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		keys[t.Field(i).Name] = t.Field(i).Tag.Get("env")
	}
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) && keys[pe.Name] != "" {
			out = append(out, fmt.Errorf("%s: %w", keys[pe.Name], pe.Err))
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// Validate reports the first configuration value that cannot work.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(slices.Contains([]string{"development", "production"}, c.Env), "TICKETFLOW_ENV must be development or production, not %q", c.Env)
	check(slices.Contains([]string{"json", "text"}, c.LogFormat), "LOG_FORMAT must be json or text, not %q", c.LogFormat)
	check(slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel), "LOG_LEVEL must be debug, info, warn or error, not %q", c.LogLevel)
	for name, u := range map[string]string{
		"DATABASE_URL": c.DatabaseURL, "AMQP_URL": c.AMQPURL, "REDIS_URL": c.RedisURL,
		"PUBLIC_URL": c.PublicURL, "JWKS_URL": c.JWKSURL, "AUTH_URL": c.AuthURL, "HELPDESK_URL": c.HelpdeskURL, "WORKFLOW_URL": c.WorkflowURL, "TEMPORAL_UI_URL": c.TemporalUIURL,
		"AUTH_DATABASE_URL": c.AuthDatabaseURL, "HELPDESK_DATABASE_URL": c.HelpdeskDatabaseURL,
		"WORKFLOW_DATABASE_URL": c.WorkflowDatabaseURL, "MESSAGING_DATABASE_URL": c.MessagingDatabaseURL,
		"NOTIFICATION_DATABASE_URL": c.NotificationDatabaseURL,
	} {
		if u == "" && strings.HasSuffix(name, "_DATABASE_URL") && name != "DATABASE_URL" {
			continue
		}
		parsed, err := url.Parse(u)
		check(err == nil && parsed.Scheme != "" && parsed.Host != "", "%s must be an absolute URL, not %q", name, u)
	}
	check(c.DatabaseMaxConns > 0, "DATABASE_MAX_CONNS must be positive")
	check(c.AccessTTL >= time.Minute && c.AccessTTL <= 24*time.Hour, "ACCESS_TOKEN_TTL must be between 1m and 24h")
	check(c.RefreshTTL > c.AccessTTL, "REFRESH_TOKEN_TTL must be longer than ACCESS_TOKEN_TTL")
	check(c.PasswordResetTTL >= time.Minute && c.PasswordResetTTL <= 24*time.Hour, "PASSWORD_RESET_TTL must be between 1m and 24h")
	check(c.JWTIssuer != "" && c.JWTAudience != "", "JWT_ISSUER and JWT_AUDIENCE must not be empty")
	check(c.MaxBodyBytes >= 1024, "MAX_BODY_BYTES must be at least 1024")
	check(c.LoginLimitPerAccount > 0 && c.LoginLimitPerAddress > 0 && c.LoginLimitWindow > 0, "LOGIN_LIMIT_* must be positive")
	check((c.ServiceClientID == "") == (c.ServiceClientSecret == ""), "SERVICE_CLIENT_ID and SERVICE_CLIENT_SECRET go together")
	check(c.Env != "production" || c.CursorSecret != "development-cursor-secret", "CURSOR_SECRET must be set in production")
	check(c.SurveySecret == "" || len(c.SurveySecret) >= 16, "SURVEY_SECRET must be empty (derived from CURSOR_SECRET) or at least 16 characters")
	check(c.SurveyLinkTTL >= time.Minute && c.SurveyLinkTTL <= 90*24*time.Hour, "SURVEY_LINK_TTL must be between 1m and 2160h (90 days)")
	check(c.AttachmentsDir != "", "ATTACHMENTS_DIR must not be empty")
	check(c.MaxAttachmentBytes >= 1024, "MAX_ATTACHMENT_BYTES must be at least 1024")
	check(c.CommentEditWindow > 0, "COMMENT_EDIT_WINDOW must be positive")
	check(c.AccessCacheTTL >= 0 && c.AccessCacheTTL <= 10*time.Minute, "ACCESS_CACHE_TTL must be between 0 (no cache) and 10m")
	for _, o := range c.WSAllowedOrigins {
		check(isOrigin(o), "WS_ALLOWED_ORIGINS must list origins such as https://desk.example.com, not %q", o)
	}
	errs = append(errs, c.validateMail()...)
	errs = append(errs, c.validateMailIn()...)
	check(c.WebhookFailureWindow >= time.Second, "WEBHOOK_FAILURE_WINDOW must be at least 1s")
	check(c.WebhookRetryInterval > 0 && c.WebhookMaxRetryInterval >= c.WebhookRetryInterval,
		"WEBHOOK_RETRY_INTERVAL must be positive and at most WEBHOOK_MAX_RETRY_INTERVAL")
	check(c.WebhookTimeout >= 100*time.Millisecond && c.WebhookTimeout <= 5*time.Minute, "WEBHOOK_TIMEOUT must be between 100ms and 5m")
	return errors.Join(errs...)
}

// validateMail checks the e-mail settings.
func (c Config) validateMail() []error {
	var errs []error
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		errs = append(errs, fmt.Errorf("MAIL_FROM must be an address such as \"Ticketflow <help@example.com>\", not %q", c.MailFrom))
	}
	if c.SendGridBaseURL != "" {
		u, err := url.Parse(c.SendGridBaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("SENDGRID_BASE_URL must be an http(s) URL, not %q", c.SendGridBaseURL))
		}
	}
	if c.SMTPURL != "" {
		// Its parameters are checked when the notification service starts;
		// the value is not quoted, since it may hold a password.
		u, err := url.Parse(c.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			errs = append(errs, errors.New("SMTP_URL must look like smtp://user:password@host:587 or smtps://user:password@host:465"))
		}
	}
	if c.SendGridAPIKey == "" && c.SMTPURL == "" && c.MailDir == "" {
		errs = append(errs, errors.New("MAIL_DIR must be set when neither SENDGRID_API_KEY nor SMTP_URL is"))
	}
	return errs
}

// isOrigin reports whether s is a web origin: scheme://host[:port] only.
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.User == nil && (u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == ""
}

// WebSocketOrigins returns the browser origins allowed to open the
// messaging WebSocket: WS_ALLOWED_ORIGINS, or else PUBLIC_URL's origin and
// the local development addresses.
func (c Config) WebSocketOrigins() []string {
	if len(c.WSAllowedOrigins) > 0 {
		return c.WSAllowedOrigins
	}
	origins := []string{"http://127.0.0.1:8080", "http://localhost:8080"}
	if u, err := url.Parse(c.PublicURL); err == nil && u.Host != "" {
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	return origins
}

// DatabaseURLFor returns the database URL of a service: its own variable
// when set, DATABASE_URL otherwise.
func (c Config) DatabaseURLFor(service string) string {
	own := map[string]string{
		"auth": c.AuthDatabaseURL, "helpdesk": c.HelpdeskDatabaseURL, "workflow": c.WorkflowDatabaseURL,
		"messaging": c.MessagingDatabaseURL, "notification": c.NotificationDatabaseURL,
	}[service]
	if own != "" {
		return own
	}
	return c.DatabaseURL
}

// LogValue prints the configuration with secrets masked, for the start-up log.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.String("amqp_url", maskURL(c.AMQPURL)),
		slog.String("amqp_exchange", c.AMQPExchange),
		slog.String("redis_url", maskURL(c.RedisURL)),
		slog.String("temporal_address", c.TemporalAddress),
		slog.String("temporal_namespace", c.TemporalNamespace),
		slog.String("temporal_task_queue", c.TemporalTaskQueue),
		slog.String("public_url", c.PublicURL),
		slog.String("attachments_dir", c.AttachmentsDir),
		slog.String("jwks_url", c.JWKSURL),
		slog.String("service_client_id", c.ServiceClientID),
		slog.Bool("service_client_secret_set", c.ServiceClientSecret != ""),
		slog.Bool("sendgrid_api_key_set", c.SendGridAPIKey != ""),
		slog.String("sendgrid_base_url", c.SendGridBaseURL),
		slog.String("smtp_url", maskURL(c.SMTPURL)),
		slog.String("mail_from", c.MailFrom),
		slog.String("mail_dir", c.MailDir),
		slog.String("imap_url", maskURL(c.IMAPURL)),
		slog.String("imap_folder", c.IMAPFolder),
		slog.Bool("mail_in_sendgrid_secret_set", c.MailInSendGridSecret != ""),
		slog.Int64("mail_in_max_bytes", c.MailInMaxBytes),
		slog.Bool("webhook_allow_private", c.WebhookAllowPrivate),
		slog.Duration("webhook_failure_window", c.WebhookFailureWindow),
	)
}

func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// SurveyLinkSecret is the key that signs survey links: SURVEY_SECRET, or,
// when that is empty, a key derived from CURSOR_SECRET (HMAC-SHA256 of a
// fixed label), so that a deployment that keeps its cursor secret secret
// needs no second one, and the two signatures never share a key.
func (c Config) SurveyLinkSecret() string {
	if c.SurveySecret != "" {
		return c.SurveySecret
	}
	mac := hmac.New(sha256.New, []byte(c.CursorSecret))
	mac.Write([]byte("ticketflow survey links v1"))
	return hex.EncodeToString(mac.Sum(nil))
}
