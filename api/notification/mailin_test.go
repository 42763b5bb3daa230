package notification_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/api/notification"
	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workflows"
)

// mailEnv is mail-in over a notification service's schema, with a
// Temporal client on a task queue no worker polls: the runs it starts
// wait, and the tests call the activities' side (Classify) themselves.
type mailEnv struct {
	*env
	mail *notification.MailIn
	// inbound serves the notification API with mail-in's routes.
	inbound *httptest.Server
	secret  string
}

func newMailEnv(t *testing.T, rateLimit int) *mailEnv {
	t.Helper()
	e := newEnv(t, notification.NewFileMailer(t.TempDir(), testenv.Logger(t)))
	tc, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	queue := testenv.Name("mailin")
	// The runs started here wait for a worker that never comes: end them.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Running'", queue),
		})
		if err != nil {
			t.Logf("list the test's runs: %v", err)
			return
		}
		for _, ex := range res.Executions {
			_ = tc.TerminateWorkflow(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, "test over")
		}
	})
	mi, err := notification.NewMailIn(e.pool, e.rdb, tc, notification.MailInConfig{
		PublicURL: publicURL, From: mailFrom, RedisPrefix: e.prefix, TaskQueue: queue,
		MaxBytes: 3 << 20, RateLimit: rateLimit, RateWindow: time.Hour,
	}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	m := &mailEnv{env: e, mail: mi, secret: "a-shared-secret-for-sendgrid"}
	log := testenv.Logger(t)
	h := notification.NewHandler(e.svc, authn.NewVerifier(e.keys, issuer, audience), cursor.New("test-cursor-secret"), log).
		WithMailIn(notification.NewMailInHandler(mi, m.secret, authn.NewVerifier(e.keys, issuer, audience), log))
	router := httpx.NewRouter(log, httpx.RouterOptions{MaxBodyBytes: 1 << 20, Timeout: 10 * time.Second})
	router.Mount(notification.Prefix, h.Routes())
	m.inbound = httptest.NewServer(router)
	t.Cleanup(m.inbound.Close)
	return m
}

// ingest stores raw and returns what Classify makes of it.
func (m *mailEnv) classify(raw []byte) (notification.Ingested, workflows.ClassifyMailResult) {
	m.t.Helper()
	in, err := m.mail.Ingest(context.Background(), raw, notification.SourceIMAP)
	if err != nil {
		m.t.Fatalf("ingest: %v", err)
	}
	res, err := m.mail.Classify(context.Background(), in.RowID)
	if err != nil {
		m.t.Fatalf("classify: %v", err)
	}
	return in, res
}

func mailFromTo(from, to, subject string, extra ...string) []byte {
	h := fmt.Sprintf("From: %s\r\nTo: %s\r\nMessage-ID: <%s@example.org>\r\nSubject: %s\r\n", from, to, uuid.NewString(), subject)
	for _, x := range extra {
		h += x + "\r\n"
	}
	return []byte(h + "\r\nSome text.\r\n\r\n-- \r\nSignature\r\n")
}

func TestMailIn_RepliesFindTheirTicket(t *testing.T) {
	m := newMailEnv(t, 100)
	jo := m.person("Jo Requester", authn.RoleEmployee)
	tk := ticket("Printer", jo, nil)
	m.handle(ticketCreated(t, tk))
	var sent string
	if err := m.pool.QueryRow(context.Background(), `SELECT message ->> 'message_id' FROM email_deliveries WHERE user_id = $1`, jo.id).Scan(&sent); err != nil {
		t.Fatalf("the notification e-mail: %v", err)
	}
	other := uuid.NewString()

	cases := []struct {
		name        string
		raw         []byte
		wantTicket  string
		wantReject  bool
		wantIgnored bool
	}{
		{"In-Reply-To a sent e-mail", mailFromTo(jo.email, "help@desk.example.com", "Re: Printer", "In-Reply-To: "+sent), tk.ID, false, false},
		{"References our thread", mailFromTo(jo.email, "help@desk.example.com", "Re: x", "References: <unknown@x.org> <ticket-"+tk.ID+"@desk.example.com>"), tk.ID, false, false},
		{"a thread ID of another host is no reply", mailFromTo(jo.email, "help@desk.example.com", "x", "References: <ticket-"+tk.ID+"@elsewhere.example>"), "", false, false},
		{"subject token", mailFromTo(jo.email, "help@desk.example.com", "Re: [ticket:"+tk.ID+"] Printer"), tk.ID, false, false},
		{"address token", mailFromTo(jo.email, "help+ticket-"+tk.ID+"@desk.example.com", "Printer"), tk.ID, false, false},
		{"token for another ticket than the thread", mailFromTo(jo.email, "help@desk.example.com", "[ticket:"+other+"]", "In-Reply-To: "+sent), "", true, false},
		{"subject and address name different tickets", mailFromTo(jo.email, "help+"+other+"@desk.example.com", "[#"+tk.ID+"]"), "", true, false},
		{"our own e-mail coming back", []byte("From: " + jo.email + "\r\nTo: help@desk.example.com\r\nMessage-ID: " + sent + "\r\nSubject: bounce\r\n\r\nx\r\n"), "", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, res := m.classify(c.raw)
			if c.wantIgnored != (res.Ignore != "") || c.wantReject != (res.Reject != "") || res.ReplyTicketID != c.wantTicket {
				t.Fatalf("got %+v", res)
			}
			if !c.wantIgnored && !c.wantReject && (res.Body != "Some text." || res.SenderEmail != jo.email) {
				t.Fatalf("body %q sender %q", res.Body, res.SenderEmail)
			}
			// Only an answer to an e-mail sent to the sender is verified.
			if res.ReplyVerified != (c.name == "In-Reply-To a sent e-mail") {
				t.Fatalf("verified %v", res.ReplyVerified)
			}
		})
	}
}

func TestMailIn_CategoryFollowsTheReceivingAddress(t *testing.T) {
	m := newMailEnv(t, 100)
	hw, def := uuid.NewString(), uuid.NewString()
	_, res := m.classify(mailFromTo("a@example.org", "it@example.com", "x"))
	if res.CategoryID != "" {
		t.Fatalf("no mapping: category %q", res.CategoryID)
	}
	admin := newPerson(t, m.keys, "Ada Admin", authn.RoleAdmin)
	for address, cat := range map[string]string{"hardware@example.com": hw, "*": def} {
		req, _ := http.NewRequest("PUT", m.inbound.URL+"/notifications/inbound/addresses/"+address, strings.NewReader(`{"category_id":"`+cat+`"}`))
		req.Header.Set("Authorization", "Bearer "+admin.token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("map %s: %v %v", address, err, res.Status)
		}
		res.Body.Close()
	}
	for to, want := range map[string]string{
		"Hardware <HARDWARE@example.com>":            hw,
		"it@example.com, hardware@example.com":       hw,
		"someone-else@example.com":                   def,
		"hardware@example.com.attacker.example, x@y": def,
	} {
		if _, res := m.classify(mailFromTo("a@example.org", to, "x")); res.CategoryID != want || res.ReplyTicketID != "" {
			t.Errorf("to %s: category %q, want %q", to, res.CategoryID, want)
		}
	}
}

// TestInboundAddresses_AdminScreenRoundTrip calls the mapping routes as the
// web app's Admin → Incoming mail does: the address in the path escaped
// with encodeURIComponent ("@" as %40), listed, changed, refused, deleted.
func TestInboundAddresses_AdminScreenRoundTrip(t *testing.T) {
	m := newMailEnv(t, 100)
	admin := newPerson(t, m.keys, "Ada Admin", authn.RoleAdmin)
	hw, def := uuid.NewString(), uuid.NewString()
	do := func(method, escaped, body string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, m.inbound.URL+"/notifications/inbound/addresses"+escaped, rd)
		req.Header.Set("Authorization", "Bearer "+admin.token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := do("PUT", "/Support%40Example.com", `{"category_id":"`+hw+`"}`); code != 200 || !strings.Contains(body, `"address":"support@example.com"`) {
		t.Fatalf("map an escaped address: %d %s", code, body)
	}
	if code, body := do("PUT", "/*", `{"category_id":"`+hw+`"}`); code != 200 {
		t.Fatalf("map the default: %d %s", code, body)
	}
	if code, body := do("PUT", "/%2A", `{"category_id":"`+def+`"}`); code != 200 || !strings.Contains(body, `"address":"*"`) {
		t.Fatalf("change the default, escaped: %d %s", code, body)
	}
	code, body := do("GET", "", "")
	want := `"items":[{"address":"*","category_id":"` + def + `"`
	if code != 200 || !strings.Contains(body, want) || !strings.Contains(body, `{"address":"support@example.com","category_id":"`+hw+`"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	if _, res := m.classify(mailFromTo("a@example.org", "support@example.com", "x")); res.CategoryID != hw {
		t.Fatalf("mail to the mapped address: category %q, want %q", res.CategoryID, hw)
	}
	for _, bad := range []string{"/not-an-address", "/a%40b%40example.com", "/Ada%20%3Cada%40example.com%3E"} {
		code, body := do("PUT", bad, `{"category_id":"`+hw+`"}`)
		if code != 422 || !strings.Contains(body, `"field":"address"`) {
			t.Errorf("PUT %s: %d %s, want 422 naming the address", bad, code, body)
		}
	}
	if code, body := do("PUT", "/x%40example.com", `{"category_id":"nope"}`); code != 422 || !strings.Contains(body, `"field":"category_id"`) {
		t.Fatalf("a malformed category: %d %s", code, body)
	}
	if code, body := do("DELETE", "/support%40example.com", ""); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _ := do("DELETE", "/support%40example.com", ""); code != 404 {
		t.Fatalf("delete again: %d, want 404", code)
	}
	if code, body := do("GET", "", ""); code != 200 || strings.Contains(body, "support@example.com") {
		t.Fatalf("list after delete: %d %s", code, body)
	}
}

func TestMailIn_SenderOverTheRateLimitIsIgnored(t *testing.T) {
	m := newMailEnv(t, 3)
	var last notification.Ingested
	for i := range 3 {
		in, res := m.classify(mailFromTo("chatty@example.org", "help@example.com", fmt.Sprint("message ", i)))
		if res.Ignore != "" {
			t.Fatalf("message %d ignored: %s", i, res.Ignore)
		}
		last = in
	}
	// A retried classification counts its message once.
	if res, err := m.mail.Classify(context.Background(), last.RowID); err != nil || res.Ignore != "" {
		t.Fatalf("retried classification: %+v %v", res, err)
	}
	if _, res := m.classify(mailFromTo("chatty@example.org", "help@example.com", "one too many")); !strings.Contains(res.Ignore, "rate limit") {
		t.Fatalf("the fourth message: %+v", res)
	}
	if _, res := m.classify(mailFromTo("quiet@example.org", "help@example.com", "hello")); res.Ignore != "" {
		t.Fatalf("another sender: %+v", res)
	}
}

func TestMailIn_IngestStoresOnceAndRefusesBadInput(t *testing.T) {
	m := newMailEnv(t, 100)
	raw := mailFromTo("a@example.org", "help@example.com", "once")
	first, err := m.mail.Ingest(context.Background(), raw, notification.SourceIMAP)
	if err != nil || first.Duplicate {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := m.mail.Ingest(context.Background(), raw, notification.SourceSendGrid)
	if err != nil || !again.Duplicate || again.RowID != first.RowID || again.WorkflowID != first.WorkflowID || again.Run.GetRunID() != first.Run.GetRunID() {
		t.Fatalf("again: %+v %v (first %+v)", again, err, first)
	}
	big := append(mailFromTo("a@example.org", "help@example.com", "big"), bytes.Repeat([]byte("x"), 3<<20)...)
	if _, err := m.mail.Ingest(context.Background(), big, notification.SourceIMAP); !apperr.Is(err, apperr.TooLarge) {
		t.Fatalf("too large: %v", err)
	}
	malformed := sample(t, "malformed.eml", map[string]string{})
	if _, err := m.mail.Ingest(context.Background(), malformed, notification.SourceIMAP); !apperr.Is(err, apperr.Unprocessable) {
		t.Fatalf("malformed: %v", err)
	}
	if n := m.count(`SELECT count(*) FROM inbound_messages`); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}
}

// inboundPost is an Inbound Parse post of raw in the field "email".
func inboundPost(url, secret, field string, raw []byte) (*http.Request, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormField(field)
	_, _ = w.Write(raw)
	_ = mw.Close()
	req, err := http.NewRequest("POST", url+"/notifications/inbound/sendgrid", &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if secret != "" {
		req.SetBasicAuth("sendgrid", secret)
	}
	return req, nil
}

func TestInboundParse_BadPostsAreRefusedAndStoreNothing(t *testing.T) {
	m := newMailEnv(t, 100)
	good := mailFromTo("a@example.org", "help@example.com", "via SendGrid")
	tooBig := append(mailFromTo("a@example.org", "help@example.com", "big"), bytes.Repeat([]byte("x"), 3<<20)...)
	cases := []struct {
		name   string
		secret string
		field  string
		raw    []byte
		ctype  string
		want   int
	}{
		{"no secret", "", "email", good, "", 401},
		{"wrong secret", "a-shared-secret-for-sendgriD", "email", good, "", 401},
		{"secret as a prefix", "a-shared-secret-for-sendgrid-and-more", "email", good, "", 401},
		{"not multipart", m.secret, "email", good, "application/json", 415},
		{"no raw message (send raw off)", m.secret, "text", good, "", 422},
		{"malformed MIME", m.secret, "email", sample(t, "malformed.eml", map[string]string{}), "", 422},
		{"over the size limit", m.secret, "email", tooBig, "", 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := inboundPost(m.inbound.URL, c.secret, c.field, c.raw)
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != c.want || res.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s, want %d problem+json", res.StatusCode, res.Header.Get("Content-Type"), c.want)
			}
		})
	}
	if n := m.count(`SELECT count(*) FROM inbound_messages`); n != 0 {
		t.Fatalf("bad posts stored %d messages", n)
	}
	// Within the limit, and larger than the API's usual 1 MiB body.
	large := append(mailFromTo("a@example.org", "help@example.com", "large"), bytes.Repeat([]byte("y"), 2<<20)...)
	for _, raw := range [][]byte{good, large} {
		req, _ := inboundPost(m.inbound.URL, m.secret, "email", raw)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("good post: %v %v", err, res.Status)
		}
		res.Body.Close()
	}
	if n := m.count(`SELECT count(*) FROM inbound_messages WHERE source = 'sendgrid'`); n != 2 {
		t.Fatalf("good posts stored %d messages", n)
	}
}
