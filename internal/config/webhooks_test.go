package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoad_WebhookDefaultsRefusePrivateAddresses(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookAllowPrivate || c.WebhookFailureWindow != 24*time.Hour || c.WebhookRetryInterval != time.Second ||
		c.WebhookMaxRetryInterval != 10*time.Minute || c.WebhookTimeout != 10*time.Second {
		t.Fatalf("webhook defaults = %v %v %v %v %v", c.WebhookAllowPrivate, c.WebhookFailureWindow, c.WebhookRetryInterval, c.WebhookMaxRetryInterval, c.WebhookTimeout)
	}
	t.Setenv("WEBHOOK_ALLOW_PRIVATE", "true")
	t.Setenv("WEBHOOK_FAILURE_WINDOW", "3s")
	if c, err = Load(); err != nil || !c.WebhookAllowPrivate || c.WebhookFailureWindow != 3*time.Second {
		t.Fatalf("%+v, %v", c.WebhookFailureWindow, err)
	}
}

func TestLoad_BadWebhookValuesNameTheVariable(t *testing.T) {
	for name, value := range map[string]string{
		"WEBHOOK_ALLOW_PRIVATE":      "sometimes",
		"WEBHOOK_FAILURE_WINDOW":     "0s",
		"WEBHOOK_RETRY_INTERVAL":     "0s",
		"WEBHOOK_MAX_RETRY_INTERVAL": "1ms",
		"WEBHOOK_TIMEOUT":            "1h",
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
