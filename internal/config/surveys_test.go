package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoad_SurveySettings(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.SurveySecret != "" || c.SurveyLinkTTL != 7*24*time.Hour {
		t.Fatalf("survey defaults = %q, %s", c.SurveySecret, c.SurveyLinkTTL)
	}
	for _, bad := range []struct{ name, value string }{
		{"SURVEY_SECRET", "short"},
		{"SURVEY_LINK_TTL", "30s"},
		{"SURVEY_LINK_TTL", "9999h"},
		{"SURVEY_LINK_TTL", "a week"},
	} {
		t.Run(bad.name+"="+bad.value, func(t *testing.T) {
			t.Setenv(bad.name, bad.value)
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), bad.name) {
				t.Fatalf("err = %v, want one naming %s", err, bad.name)
			}
		})
	}
}

func TestSurveyLinkSecret_OwnOrDerivedFromTheCursorSecret(t *testing.T) {
	a := Config{CursorSecret: "cursor secret one"}
	b := Config{CursorSecret: "cursor secret two"}
	if a.SurveyLinkSecret() == b.SurveyLinkSecret() || a.SurveyLinkSecret() == a.CursorSecret || len(a.SurveyLinkSecret()) != 64 {
		t.Fatalf("derived secrets %q, %q", a.SurveyLinkSecret(), b.SurveyLinkSecret())
	}
	if a.SurveyLinkSecret() != (Config{CursorSecret: "cursor secret one"}).SurveyLinkSecret() {
		t.Fatal("the derived secret is not stable: replicas would disagree")
	}
	own := Config{CursorSecret: "cursor secret one", SurveySecret: "a survey secret of its own"}
	if own.SurveyLinkSecret() != "a survey secret of its own" {
		t.Fatalf("SURVEY_SECRET ignored: %q", own.SurveyLinkSecret())
	}
}
