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
