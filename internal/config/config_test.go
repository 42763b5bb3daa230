package config

import (
	"strings"
	"testing"
)

func TestLoad_DefaultsWork(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.AMQPExchange != "ticketflow.events" || c.AccessTTL.Minutes() != 15 || c.DatabaseURLFor("auth") != c.DatabaseURL {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestLoad_BadValuesNameTheVariable(t *testing.T) {
	for name, value := range map[string]string{
		"LOG_LEVEL":          "loud",
		"TICKETFLOW_ENV":     "staging",
		"DATABASE_URL":       "not a url",
		"ACCESS_TOKEN_TTL":   "forever",
		"DATABASE_MAX_CONNS": "-1",
		"MAX_BODY_BYTES":     "12",
		"JWKS_URL":           "/relative",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			_, err := Load()
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("err = %v, want one naming %s", err, name)
			}
		})
	}
}

func TestLoad_ProductionNeedsItsOwnSecrets(t *testing.T) {
	t.Setenv("TICKETFLOW_ENV", "production")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "CURSOR_SECRET") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("CURSOR_SECRET", "a real secret")
	if _, err := Load(); err != nil {
		t.Fatal(err)
	}
}

func TestDatabaseURLFor_PrefersTheServiceVariable(t *testing.T) {
	t.Setenv("HELPDESK_DATABASE_URL", "postgres://h@db:5432/helpdesk")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.DatabaseURLFor("helpdesk"); got != "postgres://h@db:5432/helpdesk" {
		t.Fatalf("helpdesk URL = %s", got)
	}
	if c.DatabaseURLFor("auth") != c.DatabaseURL {
		t.Fatal("auth does not fall back to DATABASE_URL")
	}
}

func TestLogValue_MasksPasswords(t *testing.T) {
	t.Setenv("AMQP_URL", "amqp://user:hunter2@rabbit:5672/")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if s := c.LogValue().String(); strings.Contains(s, "hunter2") {
		t.Fatalf("log value shows the password: %s", s)
	}
}

func TestLoad_MessagingSettings(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxAttachmentBytes != 25<<20 || c.CommentEditWindow.Minutes() != 15 || c.AccessCacheTTL.Seconds() != 30 || c.AttachmentsDir == "" {
		t.Fatalf("messaging defaults = %+v", c)
	}
	if got := c.WebSocketOrigins(); len(got) != 3 || got[2] != "http://127.0.0.1:8080" {
		t.Fatalf("default origins = %v", got)
	}
	t.Setenv("WS_ALLOWED_ORIGINS", "https://desk.example.com,https://desk2.example.com")
	if c, err = Load(); err != nil || len(c.WebSocketOrigins()) != 2 {
		t.Fatalf("origins = %v, %v", c.WebSocketOrigins(), err)
	}
	for name, value := range map[string]string{
		"WS_ALLOWED_ORIGINS":   "https://desk.example.com/app",
		"MAX_ATTACHMENT_BYTES": "10",
		"COMMENT_EDIT_WINDOW":  "0s",
		"ACCESS_CACHE_TTL":     "1h",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("err = %v, want one naming %s", err, name)
			}
		})
	}
}
