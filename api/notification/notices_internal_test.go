package notification

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOneLine_StripsWhatCouldBreakAHeader(t *testing.T) {
	for in, want := range map[string]string{
		"Printer\r\nBcc: evil@example.com": "Printer Bcc: evil@example.com",
		"tab\there\x00nul\x1besc\x7fdel":   "tab here nul esc del",
		"line\u2028separator\u2029para":    "line separator para",
		"  lots   of   space  ":            "lots of space",
		"Café ☕":                           "Café ☕",
		"":                                 "",
	} {
		if got := oneLine(in, 200); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
	if got := oneLine(strings.Repeat("é", 300), 10); got != strings.Repeat("é", 9)+"…" {
		t.Errorf("oneLine cuts to %q", got)
	}
}

func TestMultiLine_KeepsLineBreaksOnly(t *testing.T) {
	if got := multiLine("one\r\ntwo\n\nthree\x00\x1b[31m", 100); got != "one\ntwo\n\nthree[31m" {
		t.Errorf("multiLine = %q", got)
	}
}

func TestRecipients_EachOnceNeverTheActor(t *testing.T) {
	for name, tc := range map[string]struct {
		n      notice
		admins []string
		want   []string
	}{
		"addressee":                  {notice{to: []string{"a"}}, nil, []string{"a"}},
		"actor among addressees":     {notice{to: []string{"a", "b"}, actor: "a"}, nil, []string{"b"}},
		"admins only when asked":     {notice{to: []string{"a"}}, []string{"x"}, []string{"a"}},
		"admins and assignee":        {notice{to: []string{"a"}, toAdmins: true}, []string{"x", "y"}, []string{"a", "x", "y"}},
		"assignee who is an admin":   {notice{to: []string{"x"}, toAdmins: true}, []string{"x", "y"}, []string{"x", "y"}},
		"empty IDs dropped":          {notice{to: []string{"", "a"}}, nil, []string{"a"}},
		"actor who is an admin":      {notice{toAdmins: true, actor: "x"}, []string{"x", "y"}, []string{"y"}},
		"nobody":                     {notice{}, nil, []string{}},
		"requester is the assignee":  {notice{to: []string{"a", "a"}}, nil, []string{"a"}},
		"system actor is nobody":     {notice{to: []string{"a"}, actor: ""}, nil, []string{"a"}},
		"service actor is no person": {notice{to: []string{"a"}, actor: "workflow-engine"}, nil, []string{"a"}},
	} {
		if got := tc.n.recipients(tc.admins); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: recipients = %v, want %v", name, got, tc.want)
		}
	}
}

func TestWords_NameTheTicketAndWhatHappened(t *testing.T) {
	due := time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		n              notice
		headline, body string
	}{
		{notice{kind: KindTicketCreated}, "We received your ticket: VPN", "Your ticket “VPN” is open."},
		{notice{kind: KindAssigned, detail: detail{reason: "escalated after an SLA breach"}}, "Assigned to you: VPN", "Reason: escalated after an SLA breach."},
		{notice{kind: KindStatusChanged, detail: detail{step: "waiting_on_requester", status: "pending", note: "Which office?"}}, "Update on your ticket: VPN", "moved to waiting on requester (pending).\n\nNote: Which office?"},
		{notice{kind: KindComment, detail: detail{comment: "Try rebooting."}}, "New reply on: VPN", "Try rebooting."},
		{notice{kind: KindComment, detail: detail{comment: "Known issue.", internal: true}}, "New internal note on: VPN", "Known issue."},
		{notice{kind: KindSLAWarning, detail: detail{slaKind: "first_response", due: due}}, "SLA warning: VPN", "first response of the ticket “VPN” is due at Tue, 03 Nov 2026 09:30 UTC."},
		{notice{kind: KindSLABreached, detail: detail{slaKind: "resolution", due: due}}, "SLA breached: VPN", "resolution deadline of the ticket “VPN” passed"},
	} {
		headline, body := tc.n.words("VPN")
		if headline != tc.headline || !strings.Contains(body, tc.body) {
			t.Errorf("%s: words = %q, %q; want %q and a body with %q", tc.n.kind, headline, body, tc.headline, tc.body)
		}
	}
}

func TestMessageIDHost_FitsAMessageID(t *testing.T) {
	for host, want := range map[string]string{
		"Desk.Example.com": "desk.example.com",
		"127.0.0.1":        "127.0.0.1",
		"::1":              "localhost",
		"":                 "localhost",
		"bad_host":         "localhost",
	} {
		if got := messageIDHost(host); got != want {
			t.Errorf("messageIDHost(%q) = %q, want %q", host, got, want)
		}
	}
}
