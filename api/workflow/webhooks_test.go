package workflow_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/workflow"
)

// webhookJSON is a webhook as the API answers it.
type webhookJSON struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Active      bool     `json:"active"`
	Secret      string   `json:"secret"`
}

func TestWebhooks_AdminRegistersListsEditsAndDeletes(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, agent, employee := e.staff()

	var created webhookJSON
	e.do("POST", "/workflow/webhooks", admin, map[string]any{
		"url": "https://93.184.215.14/hooks/ticketflow", "description": "CRM sync",
		"event_types": []string{"ticket.created", "comment.created", "ticket.created"},
	}).want(t, http.StatusCreated, &created)
	if created.ID == "" || !created.Active || !strings.HasPrefix(created.Secret, "whsec_") || len(created.Secret) < 32 {
		t.Fatalf("created %+v: want an active webhook with a generated secret", created)
	}
	if strings.Join(created.EventTypes, ",") != "comment.created,ticket.created" {
		t.Fatalf("event types %v, want sorted without duplicates", created.EventTypes)
	}

	// The secret is shown once.
	var got webhookJSON
	e.do("GET", "/workflow/webhooks/"+created.ID, admin, nil).want(t, http.StatusOK, &got)
	if got.Secret != "" || got.URL != created.URL {
		t.Fatalf("GET = %+v: want the webhook without its secret", got)
	}
	var list struct{ Items []webhookJSON }
	e.do("GET", "/workflow/webhooks", admin, nil).want(t, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].Secret != "" {
		t.Fatalf("list = %+v", list.Items)
	}

	// Edit event types, turn it off, set a secret.
	var patched webhookJSON
	e.do("PATCH", "/workflow/webhooks/"+created.ID, admin, map[string]any{
		"event_types": []string{"sla.breached"}, "active": false, "secret": "a-secret-of-the-admins-own",
	}).want(t, http.StatusOK, &patched)
	if patched.Active || strings.Join(patched.EventTypes, ",") != "sla.breached" || patched.Secret != "a-secret-of-the-admins-own" {
		t.Fatalf("patched %+v", patched)
	}
	var rotated webhookJSON
	e.do("PATCH", "/workflow/webhooks/"+created.ID, admin, map[string]any{"rotate_secret": true, "active": true}).want(t, http.StatusOK, &rotated)
	if !rotated.Active || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == created.Secret {
		t.Fatalf("rotated %+v: want a fresh secret", rotated)
	}
	var log struct{ Items []any }
	e.do("GET", "/workflow/webhooks/"+created.ID+"/deliveries", admin, nil).want(t, http.StatusOK, &log)
	if log.Items == nil || len(log.Items) != 0 {
		t.Fatalf("deliveries = %v, want an empty list", log.Items)
	}

	// Admins only.
	for _, tok := range []string{agent, employee} {
		e.do("GET", "/workflow/webhooks", tok, nil).problem(t, http.StatusForbidden, "")
		e.do("POST", "/workflow/webhooks", tok, map[string]any{"url": "https://93.184.215.14/x", "event_types": []string{"ticket.created"}}).problem(t, http.StatusForbidden, "")
		e.do("GET", "/workflow/webhooks/"+created.ID+"/deliveries", tok, nil).problem(t, http.StatusForbidden, "")
		e.do("DELETE", "/workflow/webhooks/"+created.ID, tok, nil).problem(t, http.StatusForbidden, "")
	}
	e.do("GET", "/workflow/webhooks", "", nil).problem(t, http.StatusUnauthorized, "")

	e.do("DELETE", "/workflow/webhooks/"+created.ID, admin, nil).want(t, http.StatusNoContent, nil)
	e.do("GET", "/workflow/webhooks/"+created.ID, admin, nil).problem(t, http.StatusNotFound, "")
	e.do("DELETE", "/workflow/webhooks/"+created.ID, admin, nil).problem(t, http.StatusNotFound, "")
	e.do("GET", "/workflow/webhooks/not-a-uuid/deliveries", admin, nil).problem(t, http.StatusNotFound, "")
}

func TestWebhooks_BadInputRefusedAndNothingStored(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t) // production guard: no private addresses
	admin, _, _ := e.staff()
	good := []string{"ticket.created"}
	for name, c := range map[string]struct {
		body   any
		status int
		field  string
	}{
		"loopback IPv4":         {map[string]any{"url": "http://127.0.0.1:8080/hook", "event_types": good}, 422, "url"},
		"loopback IPv6":         {map[string]any{"url": "http://[::1]/hook", "event_types": good}, 422, "url"},
		"IPv4-mapped loopback":  {map[string]any{"url": "http://[::ffff:127.0.0.1]/hook", "event_types": good}, 422, "url"},
		"localhost":             {map[string]any{"url": "http://localhost/hook", "event_types": good}, 422, "url"},
		"private 10/8":          {map[string]any{"url": "https://10.1.2.3/hook", "event_types": good}, 422, "url"},
		"private 192.168/16":    {map[string]any{"url": "https://192.168.0.10/hook", "event_types": good}, 422, "url"},
		"cloud metadata":        {map[string]any{"url": "http://169.254.169.254/latest/meta-data", "event_types": good}, 422, "url"},
		"unspecified":           {map[string]any{"url": "http://0.0.0.0/hook", "event_types": good}, 422, "url"},
		"carrier-grade NAT":     {map[string]any{"url": "http://100.64.0.1/hook", "event_types": good}, 422, "url"},
		"unique local IPv6":     {map[string]any{"url": "http://[fd00::1]/hook", "event_types": good}, 422, "url"},
		"single-label host":     {map[string]any{"url": "http://intranet/hook", "event_types": good}, 422, "url"},
		"credentials in URL":    {map[string]any{"url": "https://user:pw@93.184.215.14/hook", "event_types": good}, 422, "url"},
		"ftp scheme":            {map[string]any{"url": "ftp://93.184.215.14/hook", "event_types": good}, 422, "url"},
		"javascript scheme":     {map[string]any{"url": "javascript:alert(1)", "event_types": good}, 422, "url"},
		"relative URL":          {map[string]any{"url": "/hook", "event_types": good}, 422, "url"},
		"no URL":                {map[string]any{"event_types": good}, 422, "url"},
		"fragment":              {map[string]any{"url": "https://93.184.215.14/hook#x", "event_types": good}, 422, "url"},
		"bad port":              {map[string]any{"url": "https://93.184.215.14:99999/hook", "event_types": good}, 422, "url"},
		"URL too long":          {map[string]any{"url": "https://93.184.215.14/" + strings.Repeat("a", 3000), "event_types": good}, 422, "url"},
		"no event types":        {map[string]any{"url": "https://93.184.215.14/hook", "event_types": []string{}}, 422, "event_types"},
		"unknown event type":    {map[string]any{"url": "https://93.184.215.14/hook", "event_types": []string{"webhook.disabled"}}, 422, "event_types"},
		"secret too short":      {map[string]any{"url": "https://93.184.215.14/hook", "event_types": good, "secret": "short"}, 422, "secret"},
		"unknown field":         {map[string]any{"url": "https://93.184.215.14/hook", "event_types": good, "admin": true}, 400, "admin"},
		"event types not array": {map[string]any{"url": "https://93.184.215.14/hook", "event_types": "ticket.created"}, 400, "event_types"},
		"not JSON":              {"{url:", 400, ""},
	} {
		t.Run(name, func(t *testing.T) {
			e.do("POST", "/workflow/webhooks", admin, c.body).problem(t, c.status, c.field)
		})
	}
	if n := e.count(`SELECT count(*) FROM webhook_endpoints`); n != 0 {
		t.Fatalf("%d webhooks stored after bad requests, want 0", n)
	}

	// A registered webhook cannot be pointed inside either, and stays as it was.
	var created webhookJSON
	e.do("POST", "/workflow/webhooks", admin, map[string]any{"url": "https://93.184.215.14/hook", "event_types": good}).want(t, http.StatusCreated, &created)
	e.do("PATCH", "/workflow/webhooks/"+created.ID, admin, map[string]any{"url": "http://127.0.0.1/hook", "active": false}).problem(t, 422, "url")
	e.do("PATCH", "/workflow/webhooks/"+created.ID, admin, map[string]any{"secret": "x", "rotate_secret": true}).problem(t, 422, "")
	e.do("PATCH", "/workflow/webhooks/"+created.ID, admin, map[string]any{"event_types": []string{}}).problem(t, 422, "event_types")
	e.do("GET", "/workflow/webhooks/"+created.ID+"/deliveries?limit=1000", admin, nil).problem(t, 400, "limit")
	var got webhookJSON
	e.do("GET", "/workflow/webhooks/"+created.ID, admin, nil).want(t, http.StatusOK, &got)
	if got.URL != "https://93.184.215.14/hook" || !got.Active {
		t.Fatalf("webhook changed by refused requests: %+v", got)
	}
}

func TestWebhookGuard_AllowPrivateForDevelopment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, raw := range []string{"http://127.0.0.1:9999/hook", "http://localhost/x", "http://10.0.0.1/x"} {
		if _, err := (workflow.URLGuard{AllowPrivate: true}).Check(ctx, raw); err != nil {
			t.Errorf("allowed guard refused %s: %v", raw, err)
		}
		if _, err := (workflow.URLGuard{}).Check(ctx, raw); err == nil {
			t.Errorf("production guard accepted %s", raw)
		}
	}
	// Still only http(s) without credentials, even for development.
	for _, raw := range []string{"file:///etc/passwd", "http://u:p@127.0.0.1/"} {
		if _, err := (workflow.URLGuard{AllowPrivate: true}).Check(ctx, raw); err == nil {
			t.Errorf("allowed guard accepted %s", raw)
		}
	}
}

func TestWebhookGuard_RefusesInternalAddressesAtConnectTime(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// "localhost" stands for any name that resolved elsewhere when it was
	// registered and to loopback now (DNS rebinding): the dialer checks the
	// address it dials, after resolution.
	guard := workflow.URLGuard{}
	for _, addr := range []string{"localhost:" + port, "127.0.0.1:" + port} {
		conn, err := guard.Dialer(2*time.Second).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			t.Fatalf("production dialer connected to %s", addr)
		}
		if !errors.Is(err, workflow.ErrBlockedAddress) {
			t.Fatalf("dial %s: %v, want ErrBlockedAddress", addr, err)
		}
	}
	conn, err := workflow.URLGuard{AllowPrivate: true}.Dialer(2*time.Second).DialContext(ctx, "tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("development dialer: %v", err)
	}
	conn.Close()
}

func TestPublicAddress(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"93.184.215.14": true, "8.8.8.8": true, "2606:4700:4700::1111": true,
		"127.0.0.1": false, "::1": false, "10.0.0.1": false, "172.16.5.4": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fd12::1": false, "0.0.0.0": false, "::": false,
		"100.64.1.1": false, "224.0.0.1": false, "255.255.255.255": false, "::ffff:10.0.0.1": false,
		"64:ff9b::a00:1": false, "198.18.0.1": false,
	} {
		if got := workflow.PublicAddress(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PublicAddress(%s) = %v, want %v", addr, got, want)
		}
	}
}
