package config

import (
	"strings"
	"testing"
)

func TestLoad_MailDefaultsWriteFiles(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.SendGridAPIKey != "" || c.SMTPURL != "" || c.MailDir != ".data/mail" || c.MailFrom == "" {
		t.Fatalf("mail defaults = key %q, smtp %q, dir %q, from %q", c.SendGridAPIKey, c.SMTPURL, c.MailDir, c.MailFrom)
	}
}

func TestLoad_BadMailSettingsNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"MAIL_FROM", "not an address", "MAIL_FROM"},
		{"SENDGRID_BASE_URL", "ftp://example.com", "SENDGRID_BASE_URL"},
		{"SMTP_URL", "http://mail.example.com", "SMTP_URL"},
		{"SMTP_URL", "smtp:///no-host", "SMTP_URL"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.name, tc.value)
			_, err := Load()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestLoad_SMTPURLErrorHidesPassword(t *testing.T) {
	t.Setenv("SMTP_URL", "imap://user:s3cret@mail.example.com")
	_, err := Load()
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v, want one without the password", err)
	}
}

func TestLoad_AcceptsMailTransports(t *testing.T) {
	t.Setenv("SMTP_URL", "smtps://user:pass@smtp.example.com:465?auth=login")
	t.Setenv("SENDGRID_API_KEY", "SG.key")
	t.Setenv("SENDGRID_BASE_URL", "http://127.0.0.1:9999")
	if _, err := Load(); err != nil {
		t.Fatal(err)
	}
}

func TestValidate_FileFallbackNeedsADirectory(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	c.MailDir = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "MAIL_DIR") {
		t.Fatalf("err = %v, want one naming MAIL_DIR", err)
	}
}

func TestLogValue_MasksMailSecrets(t *testing.T) {
	t.Setenv("SENDGRID_API_KEY", "SG.secret-key")
	t.Setenv("SMTP_URL", "smtp://user:smtp-password@smtp.example.com:587")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	logged := c.LogValue().String()
	if strings.Contains(logged, "secret-key") || strings.Contains(logged, "smtp-password") {
		t.Fatalf("logged configuration shows a secret: %s", logged)
	}
}
