package notification_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/internal/authn"
)

// assignTo queues one assignment e-mail to a new agent and returns them.
func (e *env) assignTo(name string) person {
	e.t.Helper()
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := e.person(name, authn.RoleAgent)
	e.handle(assigned(e.t, ticket("Monitor flickers", requester, &agent), agent, ""))
	return agent
}

// settled waits until every delivery to p is sent or failed and returns them.
func (e *env) settled(p person) []deliveryRow {
	e.t.Helper()
	var ds []deliveryRow
	eventually(e.t, 10*time.Second, "the e-mails settled", func() bool {
		ds = e.deliveriesTo(p)
		for _, d := range ds {
			if d.status == "queued" {
				return false
			}
		}
		return len(ds) > 0
	})
	return ds
}

func TestSendGrid_TransientFailuresRetriedThenSentOnce(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		replies  []int
		outcomes string
	}{
		"rate limited (429)":    {[]int{http.StatusTooManyRequests}, "retry,sent"},
		"server error (500)":    {[]int{http.StatusInternalServerError}, "retry,sent"},
		"unavailable twice":     {[]int{http.StatusServiceUnavailable, http.StatusBadGateway}, "retry,retry,sent"},
		"accepted at the first": {nil, "sent"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sg := newFakeSendGrid(t, tc.replies...)
			e := newEnv(t, sg.mailer())
			agent := e.assignTo("Alex Agent")
			e.runSender()

			ds := e.settled(agent)
			if len(ds) != 1 || ds[0].status != "sent" || ds[0].outcomes != tc.outcomes {
				t.Fatalf("deliveries = %+v, want one sent after %s", ds, tc.outcomes)
			}
			time.Sleep(200 * time.Millisecond) // room for a resend, which must not come
			if n, want := len(sg.requests()), strings.Count(tc.outcomes, ",")+1; n != want {
				t.Fatalf("SendGrid got %d requests, want %d", n, want)
			}
			if sent := sg.sent(); len(sent) != 1 || sent[0].to().Email != agent.email {
				t.Fatalf("SendGrid accepted %+v, want one e-mail to %s", sent, agent.email)
			}
		})
	}
}

func TestSendGrid_PermanentFailureRecordedNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			sg := newFakeSendGrid(t, status)
			e := newEnv(t, sg.mailer())
			agent := e.assignTo("Alex Agent")
			e.runSender()

			ds := e.settled(agent)
			if len(ds) != 1 || ds[0].status != "failed" || ds[0].attempts != 1 || ds[0].outcomes != "failed" {
				t.Fatalf("deliveries = %+v, want one failed after one attempt", ds)
			}
			time.Sleep(300 * time.Millisecond) // several backoffs: no retry may come
			if n := len(sg.requests()); n != 1 {
				t.Fatalf("SendGrid got %d requests, want 1", n)
			}
			var lastError string
			if err := e.pool.QueryRow(t.Context(), `SELECT last_error FROM email_deliveries`).Scan(&lastError); err != nil || !strings.Contains(lastError, "the fake said no") {
				t.Fatalf("last_error = %q, %v; want SendGrid's answer", lastError, err)
			}
		})
	}
}

func TestSendGrid_GivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t, 500, 500, 500, 500, 500)
	e := newEnv(t, sg.mailer())
	agent := e.assignTo("Alex Agent")
	e.runSender()

	ds := e.settled(agent)
	if len(ds) != 1 || ds[0].status != "failed" || ds[0].outcomes != "retry,retry,failed" {
		t.Fatalf("deliveries = %+v, want failed after 3 attempts (fastSender's MaxAttempts)", ds)
	}
	if n := len(sg.requests()); n != 3 {
		t.Fatalf("SendGrid got %d requests, want 3", n)
	}
}

func TestSMTP_RefusalRecordedAsFailed(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	srv.answerRcpt(smtpReply(550, "No such mailbox"))
	e := newEnv(t, srv.mailer(t))
	agent := e.assignTo("Alex Agent")
	e.runSender()

	ds := e.settled(agent)
	if len(ds) != 1 || ds[0].status != "failed" || ds[0].outcomes != "failed" {
		t.Fatalf("deliveries = %+v, want one failed at the first attempt", ds)
	}
	if got := srv.received(); len(got) != 0 {
		t.Fatalf("server took %d messages", len(got))
	}
}

func TestSMTP_TemporaryRefusalRetried(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	srv.answerRcpt(smtpReply(451, "Try again later"))
	e := newEnv(t, srv.mailer(t))
	agent := e.assignTo("Alex Agent")
	e.runSender()

	ds := e.settled(agent)
	if len(ds) != 1 || ds[0].status != "sent" || ds[0].outcomes != "retry,sent" {
		t.Fatalf("deliveries = %+v, want one sent at the second attempt", ds)
	}
	if got := srv.received(); len(got) != 1 || got[0].to[0] != agent.email {
		t.Fatalf("server took %+v", got)
	}
}

func TestSMTP_UnreachableServerRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, unreachableSMTPMailer(t))
	agent := e.assignTo("Alex Agent")
	e.runSender()

	ds := e.settled(agent)
	if len(ds) != 1 || ds[0].status != "failed" || ds[0].outcomes != "retry,retry,failed" {
		t.Fatalf("deliveries = %+v, want retried until MaxAttempts", ds)
	}
}

func TestPreferences_EmailOffKeepsInApp(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t)
	e := newEnv(t, sg.mailer())
	e.runSender()
	requester := e.person("Rita Requester", authn.RoleEmployee)
	agent := e.person("Alex Agent", authn.RoleAgent)
	e.do("PUT", "/notifications/preferences", agent.token, map[string]any{
		"email": map[string]bool{"ticket.assigned": false},
	}).ok(t, http.StatusOK, nil)
	live := e.subscribe(agent)

	tk := ticket("Keyboard missing keys", requester, &agent)
	e.handle(assigned(t, tk, agent, ""))
	if n := liveNotification(t, live); n.TicketID != tk.ID {
		t.Fatalf("live notification = %+v", n)
	}
	if got := e.notificationsOf(agent); len(got) != 1 {
		t.Fatalf("in-app notifications = %+v, want one", got)
	}
	// Other kinds still come by e-mail.
	e.handle(commented(t, tk, requester, false, "Still broken."))
	eventually(t, 10*time.Second, "the comment's e-mail", func() bool { return len(sg.sent()) == 1 })
	if got := sg.sent()[0].Subject; !strings.HasPrefix(got, "New reply on:") {
		t.Fatalf("e-mail sent: %q, want only the comment's", got)
	}
	if ds := e.deliveriesTo(agent); len(ds) != 1 {
		t.Fatalf("deliveries = %+v, want only the comment's", ds)
	}
}

// TestSendGrid_RateLimitedRetryWaitsTheBackoff: after a 429 the delivery
// stays queued, due again one backoff later (here between 9 and 10
// minutes), and is not tried before.
func TestSendGrid_RateLimitedRetryWaitsTheBackoff(t *testing.T) {
	t.Parallel()
	sg := newFakeSendGrid(t, http.StatusTooManyRequests)
	sender := fastSender()
	sender.MinBackoff, sender.MaxBackoff = 10*time.Minute, time.Hour
	e := newEnvWith(t, sg.mailer(), sender)
	agent := e.assignTo("Alex Agent")
	e.runSender()

	eventually(t, 10*time.Second, "the first attempt recorded", func() bool {
		ds := e.deliveriesTo(agent)
		return len(ds) == 1 && ds[0].attempts == 1
	})
	var status string
	var dueIn time.Duration
	if err := e.pool.QueryRow(context.Background(), `
		SELECT status, extract(epoch FROM next_attempt_at - now())::float8 * interval '1 second' FROM email_deliveries WHERE user_id = $1`,
		agent.id).Scan(&status, &dueIn); err != nil {
		t.Fatal(err)
	}
	if status != "queued" || dueIn < 9*time.Minute-5*time.Second || dueIn > 10*time.Minute {
		t.Fatalf("after a 429: status %s, due in %s; want queued, due in 9 to 10 minutes", status, dueIn)
	}
	time.Sleep(300 * time.Millisecond) // six polls, none of which may retry it
	if n := len(sg.requests()); n != 1 {
		t.Fatalf("SendGrid got %d requests, want 1", n)
	}
}
